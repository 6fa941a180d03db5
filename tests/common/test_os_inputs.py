"""Regular files only, never past a limit, never blocking; private folders and files."""

import os
import stat
import threading
from pathlib import Path

import pytest

from tastevec.common.errors import RatingsError
from tastevec.common.os_inputs import (
    create_private_file,
    make_private_dir,
    open_regular_file,
    read_regular_file,
)


def read(path: Path, limit: int = 100) -> bytes:
    return read_regular_file(path, limit=limit, what="ratings CSV", error=RatingsError)


def test_reads_a_regular_file_and_follows_a_link_to_one(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    target.write_bytes(b"image,score\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert read(target) == read(link) == b"image,score\n"
    assert read(target, limit=12) == b"image,score\n"


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 101)
    with pytest.raises(RatingsError, match=r"big.csv has 101 bytes, more than the limit of 100"):
        read(path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_link_to_a_device_is_refused(tmp_path: Path, device: str) -> None:
    link = tmp_path / "ratings.csv"
    link.symlink_to(device)
    with pytest.raises(RatingsError, match=r"ratings CSV .*ratings.csv is a device"):
        read(link)


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "ratings.csv"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, fifo), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], RatingsError)
    assert "is a FIFO (named pipe); need a regular file" in str(outcome[0])


def _capture(outcome: list[BaseException], path: Path) -> None:
    try:
        read(path)
    except BaseException as exc:
        outcome.append(exc)


def test_missing_folder_and_unreadable_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(RatingsError, match=r"ratings CSV not found: .*nope.csv"):
        read(tmp_path / "nope.csv")
    with pytest.raises(RatingsError, match=r"is a folder"):
        read(tmp_path)
    locked = tmp_path / "locked.csv"
    locked.write_bytes(b"a")
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(RatingsError, match=r"cannot be read"):
            read(locked)


def test_open_regular_file_streams_and_gives_the_size(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789")
    with open_regular_file(path, what="blob", error=RatingsError, limit=10) as (handle, size):
        assert size == 10
        assert handle.read(4) == b"0123"


def test_private_folders_and_files(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = tmp_path / "a" / "home"
        make_private_dir(folder, error=RatingsError, what="home")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        folder.chmod(0o755)
        make_private_dir(folder, error=RatingsError, what="home")  # an existing one is fixed
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        create_private_file(folder / "x.sqlite")
        assert stat.S_IMODE((folder / "x.sqlite").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(RatingsError, match=r"home .*file is a file, not a folder"):
        make_private_dir(afile, error=RatingsError, what="home")
    with pytest.raises(RatingsError, match=r"lies under a file"):
        make_private_dir(afile / "sub", error=RatingsError, what="home")
