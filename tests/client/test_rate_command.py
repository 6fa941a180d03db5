"""Tests for `tastevec-client rate`: its output and errors, and an import killed midway
(SIGKILL) that leaves a sound database holding only correct, committed ratings."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tastevec.client.cli import main
from tastevec.client.home import Home
from tastevec.client.ratings_store import RatingsStore
from tastevec.common.digests import sha256_file

CLIENT = "import sys; from tastevec.client.cli import main; sys.exit(main(sys.argv[1:]))"
CHUNK = 500  # rows per transaction in `rate --csv`


def _image(path: Path, seed: int, size: int = 16) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (seed % 256, (seed // 256) % 256, 40)).save(path)
    return path


def _stored_scores(home: Path) -> dict[str, float]:
    with RatingsStore.open(Home.at(home).ratings) as store:
        return {Path(r.path).name: r.score for r in store.ratings()}


def test_rate_a_csv_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _image(tmp_path / "a.jpg", 1)
    _image(tmp_path / "b.png", 2)
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("image,score\na.jpg,4\nb.png,5\nc.png,3\n")
    home = tmp_path / "home"
    assert main(["rate", "--home", str(home), "--csv", str(csv_path), "--scale", "1-5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "recorded 2 ratings (2 new, 0 replaced, 0 unchanged); skipped 1 row; "
        "2 ratings stored on scale 1-5",
        f"skipped {csv_path}:4: image not found: {tmp_path / 'c.png'}",
    ]
    assert _stored_scores(home) == {"a.jpg": 4, "b.png": 5}


def test_rate_one_image_then_change_its_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _image(tmp_path / "dog.png", 3)
    home = str(tmp_path / "home")
    assert main(["rate", "--home", home, str(image), "7"]) == 0
    assert capsys.readouterr().out.startswith("recorded 1 rating (1 new, 0 replaced")
    assert main(["rate", "--home", home, str(image), "9.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == f"replaced {image.resolve()}: 7 -> 9.5"
    assert _stored_scores(Path(home)) == {"dog.png": 9.5}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["IMAGE", "7", "--scale", "1-5"], "score 7 is outside your scale 1-5"),
        (["IMAGE", "7", "--scale", "high-low"], "'high-low' is not LOW-HIGH"),
        (["IMAGE"], "give a score after the image"),
        ([], "either IMAGE SCORE or --csv FILE"),
        (["--csv", "HOME/missing.csv"], "ratings CSV not found"),
        (["HOME/missing.png", "5"], "image not found"),
    ],
)
def test_rate_errors_are_one_line_on_stderr_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], expected: str
) -> None:
    image = _image(tmp_path / "cat.png", 4)
    home = tmp_path / "home"
    given = [a.replace("IMAGE", str(image)).replace("HOME", str(tmp_path)) for a in arguments]
    assert main(["rate", "--home", str(home), *given]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("tastevec-client: error: ")
    assert captured.err.count("\n") == 1
    assert expected in captured.err


def test_the_scale_cannot_change_once_ratings_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _image(tmp_path / "cat.png", 4)
    home = str(tmp_path / "home")
    assert main(["rate", "--home", home, str(image), "8"]) == 0
    assert main(["rate", "--home", home, "--scale", "1-5", str(image), "3"]) == 2
    err = capsys.readouterr().err
    assert "your ratings use scale 1-10; cannot switch to 1-5 while 1 rating is stored" in err
    assert _stored_scores(Path(home)) == {"cat.png": 8}


# --- an import killed midway --------------------------------------------------------------


def _many_images(folder: Path, count: int) -> tuple[Path, dict[str, float]]:
    """`count` distinct 8x8 PNGs (the colour encodes the index), a CSV rating them all, and
    the score the CSV gives each image, by content digest."""
    photos = folder / "photos"
    photos.mkdir(parents=True)
    lines = ["image,score"]
    expected: dict[str, float] = {}
    for n in range(count):
        path = photos / f"{n:05d}.png"
        Image.new("RGB", (8, 8), (n % 256, n // 256, 200)).save(path)
        score = 1 + (n % 91) / 10
        lines.append(f"photos/{path.name},{score!r}")
        expected[sha256_file(path)] = score
    assert len(expected) == count  # every image is distinct
    csv_path = folder / "ratings.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    return csv_path, expected


def _committed(db: Path) -> int | None:
    """Ratings committed so far, read as another process would; None while unreadable."""
    if not db.exists():
        return None
    try:
        connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=0.1)
    except sqlite3.Error:
        return None
    try:
        return int(connection.execute("SELECT count(*) FROM ratings").fetchone()[0])
    except sqlite3.Error:
        return None  # not created yet, or the writer holds a lock
    finally:
        connection.close()


def _kill_midway(csv_path: Path, home: Path, total: int, log: Path) -> int | None:
    """Start `rate --csv` in a child process and SIGKILL it once some chunk, but not all,
    is committed. The count seen just before the kill; None if the import finished first."""
    db = Home.at(home).ratings
    with log.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CLIENT, "rate", "--home", str(home), "--csv", str(csv_path)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,  # the progress bar goes here, never into a pipe nobody reads
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and child.poll() is None:
                seen = _committed(db)
                if seen and seen < total:
                    child.send_signal(signal.SIGKILL)
                    child.wait()
                    return seen
                time.sleep(0.002)
            assert child.poll() is not None, "the import did not finish within 60 s"
            assert child.returncode == 0, log.read_text()
            return None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()


@pytest.mark.slow
def test_an_import_killed_midway_keeps_a_sound_database_of_correct_ratings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    total = 10_000
    csv_path, expected = _many_images(tmp_path, total)
    for attempt in range(3):  # a very fast machine may finish before the kill lands
        home = tmp_path / f"home-{attempt}"
        seen = _kill_midway(csv_path, home, total, tmp_path / f"stderr-{attempt}.txt")
        if seen is not None:
            break
    else:
        pytest.fail("the import finished three times before it could be killed midway")

    db = Home.at(home).ratings
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = connection.execute("SELECT image_sha256, score FROM ratings").fetchall()
    finally:
        connection.close()
    assert seen <= len(rows) < total, "the child was killed after the whole import"
    assert len(rows) % CHUNK == 0  # whole chunks only: each is one transaction
    assert all(expected[sha] == score for sha, score in rows)

    assert main(["rate", "--home", str(home), "--csv", str(csv_path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"recorded {total} ratings ({total - len(rows)} new, 0 replaced, {len(rows)} unchanged); "
        f"{total} ratings stored on scale 1-10"
    )
    with RatingsStore.open(db) as store:
        stored = {r.image_sha256: r.score for r in store.ratings()}
    assert stored == expected
