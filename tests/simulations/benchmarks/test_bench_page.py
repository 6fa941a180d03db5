"""The page benchmark's folder: different photos, each larger than the page's thumbnails."""

from pathlib import Path

from tastevec.client.ui.thumbnails import SIZES
from tastevec.common.digests import sha256_bytes
from tastevec.common.images import load_image
from tastevec.simulations.benchmarks.bench_page import SIDE, make_photos


def test_the_folder_holds_different_real_photo_copies(tmp_path: Path) -> None:
    make_photos(tmp_path / "photos", 40)
    files = sorted((tmp_path / "photos").iterdir())
    assert len(files) == 40
    assert len({sha256_bytes(f.read_bytes()) for f in files}) == 40  # no two the same
    image = load_image(files[0])
    assert image.size == SIDE
    assert max(SIDE) > SIZES["thumb"]  # so a thumbnail is real work
    assert sum(f.stat().st_size for f in files) < 40 * 100_000  # small: a folder of 10,000
