"""Operating-system inputs are hostile too: read only regular files, never past a stated size,
and make what a person owns private to them.

A path given by a person or found in a folder may be a link to `/dev/zero`, a FIFO that
never gets a writer, a device, a folder or a file that grows while it is read. Every reader
of such a file goes through `read_regular_file` (whole, up to a limit) or
`open_regular_file` (streamed): the file is opened without blocking, checked to be a regular
file on the open descriptor (so a swap after the check cannot fool it), and never read past
its limit. Problems come back as the caller's own error type with a message that says what
and where.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tastevec.common.errors import TastevecError

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def describe_file_type(mode: int) -> str:
    """What a non-regular file is, for messages: 'a folder', 'a FIFO (named pipe)', ..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@contextlib.contextmanager
def open_regular_file(
    path: Path, *, what: str, error: type[TastevecError], limit: int | None = None
) -> Iterator[tuple[BinaryIO, int]]:
    """Open `path` for reading if it is a regular file (links followed) of at most `limit`
    bytes; yields the open file and its size. `error(f"{what} ...")` otherwise: missing,
    unreadable, a folder, a FIFO or device, too large.

    Never blocks: the file is opened with O_NONBLOCK (a FIFO without a writer would block a
    plain open), and checked on the descriptor before anything is read."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{what} {path} is {describe_file_type(info.st_mode)}; need a regular file")
        if limit is not None and info.st_size > limit:
            raise error(f"{what} {path} has {info.st_size} bytes, more than the limit of {limit}")
        os.set_blocking(descriptor, True)
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle, info.st_size


def read_regular_file(path: Path, *, limit: int, what: str, error: type[TastevecError]) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them (see
    `open_regular_file`). A file that grows past `limit` while it is read is refused too."""
    with open_regular_file(path, what=what, error=error, limit=limit) as (handle, _):
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{what} {path} grew past the limit of {limit} bytes while it was read")
    return data


def make_private_dir(path: Path, *, error: type[TastevecError], what: str) -> None:
    """Create `path` and its missing parents, each readable by its owner only (0700 whatever
    the umask); an existing folder loses its group's and others' rights (the owner's own
    are kept: a folder made read-only stays so). `error` for a path that is a file, lies
    under one, or cannot be created."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    try:
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=PRIVATE_DIR_MODE)
            except FileExistsError:  # made meanwhile, by another process
                continue
            folder.chmod(PRIVATE_DIR_MODE)
    except NotADirectoryError:
        raise error(f"{what} {path} lies under a file, not a folder") from None
    except OSError as exc:
        raise error(f"cannot create {what} {path}: {exc.strerror or exc}") from None
    if not path.is_dir():
        kind = "a file" if path.exists() else "a broken link"
        raise error(f"{what} {path} is {kind}, not a folder")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & PRIVATE_DIR_MODE)
    except OSError as exc:
        raise error(f"cannot make {what} {path} private: {exc.strerror or exc}") from None


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (then it is left as it is).
    OSError passes through for the caller to word."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
