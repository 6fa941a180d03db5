"""Two `rate` imports on different scales and a `forget`, in real processes against one home:
whatever the interleaving, every stored rating is on the stored scale and came from the
import that settled it, no rating is left without a scale, and every process either succeeds
or stops with a one-line error."""

import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tastevec.client.ratings_store import RatingScale, RatingsStore
from tastevec.common.digests import sha256_file

CLIENT = str(Path(sys.executable).with_name("tastevec-client"))
PHOTOS = 150  # per import: enough that each import takes a while, small enough for CI


def _csv(folder: Path, seed: int, low: int, high: int) -> tuple[Path, dict[str, float]]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    expected = {}
    path = folder / "ratings.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "score"])
        for n in range(PHOTOS):
            image = folder / f"{n}.png"
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(image)
            score = float(rng.integers(low, high + 1))
            writer.writerow([image.name, score])
            expected[sha256_file(image)] = score
    return path, expected


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLIENT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("forget_after_s", [0.0, 0.6, 1.5, None])
def test_two_imports_and_a_forget_at_once_never_mix_scales(
    tmp_path: Path, forget_after_s: float | None
) -> None:
    five, five_scores = _csv(tmp_path / "five", 1, 1, 5)
    ten, ten_scores = _csv(tmp_path / "ten", 2, 6, 10)  # off the 1-5 scale on purpose
    home = tmp_path / "home"
    processes: list[subprocess.Popen[str]] = []
    try:
        common = ["--home", str(home)]
        processes.append(_start("rate", *common, "--csv", str(five), "--scale", "1-5"))
        processes.append(_start("rate", *common, "--csv", str(ten), "--scale", "1-10"))
        if forget_after_s is not None:
            time.sleep(forget_after_s)
            processes.append(_start("forget", *common, "--yes"))
        outcomes = [(p.wait(timeout=120), *p.communicate(timeout=10)) for p in processes]
    finally:
        for process in processes:  # owned by PID: none outlives the test
            if process.poll() is None:
                process.kill()
                process.wait()
    for code, out, err in outcomes:
        assert "Traceback" not in err, err
        assert code in (0, 2), (code, out, err)
        if code == 2:  # one line, after any progress bar
            errors = [line for line in err.splitlines() if "error" in line]
            assert len(errors) == 1 and errors[0].startswith("tastevec-client: error:"), err
    with RatingsStore.open(home / "ratings.sqlite") as store:
        ratings, scale = store.ratings(), store.scale()
    if not ratings:
        return
    assert scale in (RatingScale(1, 5), RatingScale(1, 10))
    source = five_scores if scale == RatingScale(1, 5) else ten_scores
    assert {r.image_sha256: r.score for r in ratings}.items() <= source.items()
    settled = [o for o, p in zip(outcomes, processes, strict=True) if f"scale {scale}" in o[1]]
    assert settled, "the stored scale was settled by an import that reported it"
