"""A release on disk: a signed manifest and the content-addressed blobs it names.

    <root>/manifest.json     canonical JSON (`Manifest.to_bytes`)
    <root>/manifest.sig      the raw 64-byte Ed25519 signature of manifest.json's exact bytes
    <root>/blobs/<sha256>    each blob, named by its sha256, no extension

Blobs are written read-only; a new release hard-links the unchanged blobs of an older one,
and a device downloads only the blobs it does not already hold.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tastevec.common.atomic_file import write_atomic
from tastevec.common.digests import sha256_bytes, sha256_handle
from tastevec.common.errors import ReleaseError
from tastevec.common.os_inputs import open_regular_file, read_regular_file
from tastevec.common.release_manifest import BlobRef, Manifest
from tastevec.common.signing import sign, verify_signature

MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
BLOB_DIR = "blobs"
BLOB_MODE = 0o444
# A manifest names a few dozen blobs in a few kB; an Ed25519 signature is 64 bytes. Anything
# larger is refused before it is read, so a manifest linked to /dev/zero cannot fill memory.
MANIFEST_LIMIT = 4 * 2**20
SIGNATURE_LIMIT = 1024
_FILE_LIMITS = {MANIFEST_FILE: MANIFEST_LIMIT, SIGNATURE_FILE: SIGNATURE_LIMIT}


def blob_path(root: Path, sha256: str) -> Path:
    BlobRef(sha256, 0)  # refuses anything but 64 lowercase hex, so no path can escape
    return root / BLOB_DIR / sha256


def write_blob(root: Path, data: bytes) -> BlobRef:
    """Store `data` under its sha256; an intact copy already there is left alone."""
    ref = BlobRef(sha256_bytes(data), len(data))
    path = blob_path(root, ref.sha256)
    if _blob_problem(path, ref) is not None:
        write_atomic(path, data, mode=BLOB_MODE)
    return ref


def link_blob(
    root: Path,
    source_root: Path,
    ref: BlobRef,
    *,
    copy: bool = False,
    mode: int = BLOB_MODE,
    check: bool = True,
) -> None:
    """Make the blob `ref` of the release at `source_root` part of the one at `root`.

    Hard-links it where the filesystem allows, else (or with `copy`) copies it with `mode`;
    either way the installed file is checked against `ref` before it takes the blob's name,
    and a damaged file already there is replaced. Copy when the two must not share a file: a
    device's cache and the folder it pulled from.

    `check=False` reads no blob: a file already at `root` is kept only when it is the very
    file at `source_root` (a hard link), anything else is replaced by a link (or copy) of the
    source. Only for a caller that verifies the whole release at `root` afterwards, before
    using it (the device's cache: `install_release`, then `make_current`), so every blob is
    hashed once on the installed file rather than three times on the way there.
    """
    source = blob_path(source_root, ref.sha256)
    target = blob_path(root, ref.sha256)
    if not check:
        if _same_file(source, target):
            return
    elif _blob_problem(target, ref) is None:
        return
    problem = _blob_problem(source, ref) if check else (None if source.is_file() else "is missing")
    if problem is not None:
        raise ReleaseError(f"release {source_root}: blob {ref.sha256[:12]} {problem}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{ref.sha256}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        temp.unlink()
        try:
            if copy:
                raise OSError("copy asked for")
            os.link(source, temp)
        except OSError:  # another filesystem, or one without hard links
            _copy_durably(source, temp, mode)
        problem = _blob_problem(temp, ref) if check else None
        if problem is not None:
            raise ReleaseError(f"release {source_root}: blob {ref.sha256[:12]} {problem}")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def sign_release(root: Path, manifest: Manifest, private_key: Ed25519PrivateKey) -> None:
    """Check every blob `manifest` names is in `root` intact, then write and sign it."""
    for ref, role in _named_blobs(manifest):
        problem = _blob_problem(blob_path(root, ref.sha256), ref)
        if problem is not None:
            raise ReleaseError(f"release {root}: blob {ref.sha256[:12]} ({role}) {problem}")
    data = manifest.to_bytes()
    write_atomic(root / MANIFEST_FILE, data)
    write_atomic(root / SIGNATURE_FILE, sign(private_key, data))


def verify_release(root: Path, public_key: Ed25519PublicKey) -> Manifest:
    """The manifest of the release at `root`, once its signature and every blob check out."""
    manifest = read_signed_manifest(root, public_key)
    for ref, role in _named_blobs(manifest):
        problem = _blob_problem(blob_path(root, ref.sha256), ref)
        if problem is not None:
            raise ReleaseError(f"release {root}: blob {ref.sha256[:12]} ({role}) {problem}")
    return manifest


def read_signed_manifest(root: Path, public_key: Ed25519PublicKey) -> Manifest:
    """The manifest of the release at `root` once its signature checks out; blobs unread.

    For a release already verified in full: `read_blob` checks each blob again as it is read.
    """
    data, signature = read_signed_files(root)
    verify_signature(public_key, data, signature, what=f"release {root}: {MANIFEST_FILE}")
    return Manifest.from_bytes(data, origin=f"release {root}: {MANIFEST_FILE}")


def read_signed_files(root: Path) -> tuple[bytes, bytes]:
    """manifest.json and manifest.sig of the release at `root`, as bytes, unchecked; each read
    as a regular file within its limit (MANIFEST_LIMIT, SIGNATURE_LIMIT)."""
    return _read_release_file(root, MANIFEST_FILE), _read_release_file(root, SIGNATURE_FILE)


def blob_problem(root: Path, ref: BlobRef) -> str | None:
    """What is wrong with the blob `ref` in the release (or cache) at `root`, or None."""
    return _blob_problem(blob_path(root, ref.sha256), ref)


def read_blob(root: Path, ref: BlobRef, *, what: str) -> bytes:
    """A blob's bytes, checked again, so a blob changed after `verify_release` is still caught."""
    path = blob_path(root, ref.sha256)
    if not path.exists():
        raise ReleaseError(f"{what}: blob {ref.sha256[:12]} is missing from {path}")
    try:  # never more than the manifest's size (+1, to see a file that is longer)
        data = read_regular_file(path, limit=ref.size + 1, what=f"{what}: blob", error=ReleaseError)
    except ReleaseError as exc:
        raise ReleaseError(f"{exc}; pull the release again to repair it") from None
    problem = _content_problem(len(data), sha256_bytes(data), ref)
    if problem is not None:
        raise ReleaseError(f"{what}: blob {ref.sha256[:12]} {problem}")
    return data


def missing_blobs(manifest: Manifest, have: Iterable[str]) -> tuple[BlobRef, ...]:
    """The blobs of `manifest` whose sha256 is not in `have`, in manifest order."""
    held = set(have)
    return tuple(ref for ref in manifest.blobs() if ref.sha256 not in held)


def _same_file(source: Path, target: Path) -> bool:
    """Whether `target` (not followed, were it a link) is the very file `source` is."""
    try:
        held, wanted = target.lstat(), source.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISREG(held.st_mode) and (held.st_dev, held.st_ino) == (
        wanted.st_dev,
        wanted.st_ino,
    )


def _copy_durably(source: Path, target: Path, mode: int) -> None:
    shutil.copyfile(source, target)
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())
    target.chmod(mode)


def _named_blobs(manifest: Manifest) -> list[tuple[BlobRef, str]]:
    """Each distinct blob with the role it plays first, for messages that say which is bad."""
    roles = [(manifest.backbone.weights, "backbone weights"), (manifest.backbone.head, "head")]
    roles += [(e.blob, f"task vector {e.source!r}") for e in manifest.task_vectors]
    roles += [(p.blob, f"{p.layout} prior") for p in manifest.priors]
    named: dict[str, tuple[BlobRef, str]] = {}
    for ref, role in roles:
        named.setdefault(ref.sha256, (ref, role))
    return list(named.values())


def _read_release_file(root: Path, name: str) -> bytes:
    path = root / name
    if not path.exists() and not path.is_symlink():
        raise ReleaseError(f"release {root}: no {name}")
    return read_regular_file(
        path, limit=_FILE_LIMITS[name], what=f"release {root}: {name}", error=ReleaseError
    )


def _blob_problem(path: Path, ref: BlobRef) -> str | None:
    """What is wrong with the file at `path` as the blob `ref`, or None when it is intact."""
    if not path.exists() and not path.is_symlink():
        return "is missing"
    try:  # a FIFO, a device or a link to one is a problem, never a read that blocks
        with open_regular_file(path, what="blob", error=ReleaseError) as (handle, size):
            if size != ref.size:
                return _content_problem(size, ref.sha256, ref)
            digest = sha256_handle(handle, limit=ref.size + 1)
    except ReleaseError as exc:
        return str(exc).removeprefix(f"blob {path} ")
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    return _content_problem(size, digest, ref)


def _content_problem(size: int, sha256: str, ref: BlobRef) -> str | None:
    if size != ref.size:
        return f"has {size} bytes, the manifest says {ref.size}; refusing it"
    if sha256 != ref.sha256:
        return f"has sha256 {sha256[:12]}, the manifest says {ref.sha256[:12]}; refusing it"
    return None
