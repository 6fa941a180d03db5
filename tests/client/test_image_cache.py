"""The image cache: private, and a damaged or odd cache file is started again, never an error
in the middle of a fit."""

import logging
import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from tastevec.client.image_cache import ImageCache, ImageValues
from tastevec.common.errors import RatingsError


def _values(seed: int) -> ImageValues:
    rng = np.random.default_rng(seed)
    return ImageValues(
        float(rng.random()),
        rng.random(3).astype(np.float32),
        rng.random((4, 3)).astype(np.float32),
    )


def _round_trip(path: Path) -> None:
    with ImageCache.open(path) as cache:
        cache.put("r-1", "avg", {"a" * 64: _values(1)})
        got = cache.get("r-1", "avg", ["a" * 64, "b" * 64], tensors=4, vectors=3)
    assert list(got) == ["a" * 64]
    np.testing.assert_array_equal(got["a" * 64].jacobian, _values(1).jacobian)


def test_the_cache_is_created_private_and_keeps_values(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "image-cache.sqlite"
        _round_trip(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def _garbage(path: Path) -> None:
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8000))


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"these are not the values you are looking for" * 100)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _link_to_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize("spoil", [_garbage, _not_sqlite, _fifo, _link_to_zero])
def test_a_damaged_cache_is_started_again(
    tmp_path: Path, spoil: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "image-cache.sqlite"
    spoil(path)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING):
        _round_trip(path)
    assert "starting it again" in caplog.text
    assert path.is_file() and not path.is_symlink()


def test_a_cache_damaged_while_in_use_is_deleted_with_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "image-cache.sqlite"
    with ImageCache.open(path) as cache:
        cache.put("r-1", "avg", {f"{n:064x}": _values(n) for n in range(200)})
    connection = sqlite3.connect(path)  # opened before the damage, as by a running fit
    connection.execute("PRAGMA cache_size = 1")
    size = path.stat().st_size
    with path.open("r+b") as handle:  # every page after the first is overwritten
        handle.seek(4096)
        handle.write(os.urandom(size - 4096))
    cache = ImageCache(path, connection)
    with pytest.raises(RatingsError) as caught:
        cache.get("r-1", "avg", [f"{n:064x}" for n in range(200)], tensors=4, vectors=3)
    message = str(caught.value)
    assert "was damaged while in use" in message and "\n" not in message
    assert not path.exists()
    _round_trip(path)  # the next open starts it again
