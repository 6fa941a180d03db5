from pathlib import Path

import pytest

from tastevec.common.atomic_file import write_atomic


def test_atomic_write_replaces_whole_files_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "file.bin"
    write_atomic(path, b"old")
    write_atomic(path, b"new contents", mode=0o600)
    assert path.read_bytes() == b"new contents"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["file.bin"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "file.bin"
    write_atomic(path, b"good data")

    def broken_fsync(_: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, b"half-written replacement")
    assert path.read_bytes() == b"good data"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]
