"""`bench photos` on small photos and the test release: the report's measures are all there."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from tastevec.common.errors import TastevecError
from tastevec.simulations.benchmarks.bench_photos import (
    PhotoSettings,
    make_photos,
    run_photos_benchmark,
)


def test_made_photos_are_distinct_jpegs_of_the_asked_size(tmp_path: Path) -> None:
    photos = make_photos(tmp_path, 20, (400, 300))
    assert len({hashlib.sha256(p.read_bytes()).hexdigest() for p in photos}) == 20
    with Image.open(photos[-1]) as image:
        assert image.format == "JPEG" and image.size == (400, 300)
    assert make_photos(tmp_path, 20, (400, 300)) == photos  # made once, then reused
    with pytest.raises(TastevecError, match="distinct photos"):
        make_photos(tmp_path, 10_000, (400, 300))


@pytest.mark.slow
def test_the_benchmark_reports_each_measure(
    release: Path, trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative scratch, as the command's default is
    scratch = Path("photos-bench")
    settings = PhotoSettings(ratings=(10,), scored=64, photo_size=(800, 600))
    report = run_photos_benchmark(release, trust, scratch, settings)
    assert "| whole (800 x 600) |" in report
    assert "| 10 | " in report and "MiB |" in report
    assert "only imports `tastevec.client.fitting` took" in report  # the start-up floor
    assert "Cold `fit` from 10 ratings under 3 s" in report
    assert "Scoring end to end at >= 0.8x the forward alone" in report
    with pytest.raises(TastevecError, match="new home"):
        run_photos_benchmark(release, trust, scratch, settings)  # homes are not reused
