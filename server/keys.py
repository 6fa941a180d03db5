"""The release signing key pair on disk: `<name>` (private, mode 0600) and `<name>.pub`."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from tastevec.common.errors import KeyFileError
from tastevec.common.signing import generate_private_key, private_key_bytes, public_key_bytes

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def public_key_path(private_path: Path) -> Path:
    """Where the public half of `private_path` lives: the same name with ".pub" appended."""
    return private_path.with_name(private_path.name + ".pub")


def generate_key_pair(private_path: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair; never overwrites an existing key. Returns (private, public)."""
    public_path = public_key_path(private_path)
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise KeyFileError(f"key file {path} already exists; refusing to overwrite it")
    key = generate_private_key()
    create_new_file(private_path, private_key_bytes(key), PRIVATE_MODE)
    try:
        create_new_file(public_path, public_key_bytes(key.public_key()), PUBLIC_MODE)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return private_path, public_path


def create_new_file(path: Path, data: bytes, mode: int) -> None:
    """Write `data` whole to a temporary file, then link it to `path` only if `path` is absent.

    A reader never sees a half-written key and an existing file is never replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        try:
            os.link(temp_name, path)
        except FileExistsError as exc:
            raise KeyFileError(f"key file {path} already exists; refusing to overwrite it") from exc
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            _create_exclusively(path, data, mode)  # a filesystem without hard links
    finally:
        Path(temp_name).unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _create_exclusively(path: Path, data: bytes, mode: int) -> None:
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise KeyFileError(f"key file {path} already exists; refusing to overwrite it") from exc
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
