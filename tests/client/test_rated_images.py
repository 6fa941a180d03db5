"""Rated images read back for a fit: unchanged ones kept, and a path that became a FIFO, a
device link, a changed or a missing file left out with its reason, never a hang."""

import os
import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tastevec.client.rated_images import RatedImages, load_rated_images
from tastevec.client.ratings_store import Rating
from tastevec.common.digests import sha256_file


def _photo(path: Path, seed: int) -> Rating:
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return Rating(sha256_file(path), 3.0, str(path), "2024-01-01T00:00:00Z")


def _to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.resize((8, 8)), np.float32)).permute(2, 0, 1)


def test_only_unchanged_regular_files_are_read_and_nothing_blocks(tmp_path: Path) -> None:
    kept = _photo(tmp_path / "kept.png", 0)
    fifo = _photo(tmp_path / "fifo.png", 1)
    device = _photo(tmp_path / "device.png", 2)
    changed = _photo(tmp_path / "changed.png", 3)
    missing = _photo(tmp_path / "missing.png", 4)
    Path(fifo.path).unlink()
    os.mkfifo(fifo.path)  # hashing it with a plain open would wait for a writer forever
    Path(device.path).unlink()
    Path(device.path).symlink_to("/dev/zero")
    _photo(Path(changed.path), 5)
    Path(missing.path).unlink()

    result: list[RatedImages] = []
    reader = threading.Thread(
        target=lambda: result.append(
            load_rated_images([kept, fifo, device, changed, missing], _to_tensor)
        ),
        daemon=True,
    )
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading the rated images blocked"
    (rated,) = result
    assert rated.ratings == (kept,)
    assert rated.images.shape == (1, 3, 8, 8)
    fifo_line, device_line, changed_line, missing_line = rated.skipped
    assert "fifo.png is a FIFO (named pipe)" in fifo_line
    assert "device.png is a device" in device_line
    assert changed_line == f"{changed.path}: changed since you rated it; left out"
    assert "missing.png: no longer there" in missing_line
