"""The device's release cache: verified releases installed under a person's home.

    HOME/blobs/<sha256>                      every blob once, shared by all installed releases
    HOME/releases/<release id>/manifest.json the release as signed, its blobs hard-linked
    HOME/releases/<release id>/manifest.sig  from HOME/blobs (copied where links fail)
    HOME/releases/trusted.pub                the public key releases are checked against
    HOME/releases/current                    the id of the release in use

A release is installed only after its signature and every blob verify; it becomes current
only once it is complete, so an interrupted pull leaves the previous release in use. Each
use checks the signature again and every blob as it is read. A pull checks the blobs it
already holds too, so pulling a good release again repairs a damaged cache. Everything here
is private to the home's owner: folders 0700, files 0600, blobs 0400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tastevec.client.home import Home
from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import ReleaseError, TastevecError
from tastevec.common.os_inputs import PRIVATE_FILE_MODE, make_private_dir, read_regular_file
from tastevec.common.release import (
    BLOB_DIR,
    MANIFEST_FILE,
    SIGNATURE_FILE,
    blob_problem,
    link_blob,
    read_signed_files,
    read_signed_manifest,
    verify_release,
)
from tastevec.common.release_manifest import BlobRef, Manifest, check_release_id
from tastevec.common.signing import load_public_key, public_key_bytes

TRUSTED_KEY = "trusted.pub"
CURRENT = "current"
CACHE_BLOB_MODE = 0o400
_CURRENT_LIMIT = 256  # a release id and a newline


@dataclass(frozen=True, slots=True)
class InstalledRelease:
    root: Path
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class PullResult:
    release: InstalledRelease
    blobs_fetched: int
    blobs_reused: int
    already_current: bool


def pull_from_dir(
    home: Home,
    source: Path,
    trust: Path | None,
    *,
    replace_trust: bool = False,
    allow_rollback: bool = False,
) -> PullResult:
    """Verify the release at `source` against the pinned key (see `pinned_key`) and make it
    current, unless it is older than the current one (see `refuse_rollback`)."""
    public_key = pinned_key(home, trust, replace_trust=replace_trust)
    manifest = verify_release(source, public_key)
    refuse_rollback(home, manifest, allow_rollback=allow_rollback)
    home.create()
    try:
        needed = blobs_to_fetch(home, manifest)
        for ref in needed:  # copied: the cache must not share files with the folder pulled from
            link_blob(home.root, source, ref, copy=True, mode=CACHE_BLOB_MODE)
    except OSError as exc:  # a read-only home, a full disk
        raise ReleaseError(f"cannot install release into {home.root}: {_reason(exc)}") from None
    return complete_pull(home, manifest, read_signed_files(source), public_key, needed)


def complete_pull(
    home: Home,
    manifest: Manifest,
    signed_files: tuple[bytes, bytes],
    public_key: Ed25519PublicKey,
    fetched: tuple[BlobRef, ...],
) -> PullResult:
    """The end of every pull, from a folder or a server: the home's blobs now hold all of
    `manifest`'s (`fetched` of them new); install it with its signed files (manifest.json,
    manifest.sig bytes) and make it current once it verifies in full."""
    try:
        already = current_release_id(home) == manifest.release_id
    except ReleaseError:  # a damaged record of the current release: this pull replaces it
        already = False
    try:
        release = install_release(home, manifest, *signed_files)
        make_current(home, release, public_key)
    except OSError as exc:  # a read-only home, a full disk
        raise ReleaseError(f"cannot install release into {home.root}: {_reason(exc)}") from None
    reused = len(manifest.blobs()) - len(fetched)
    return PullResult(release, len(fetched), reused, already)


def pinned_key(home: Home, trust: Path | None, *, replace_trust: bool) -> Ed25519PublicKey:
    """The key releases must be signed with. The first pull records `trust`; later pulls use
    the recorded key, and a `trust` naming another key is refused unless `replace_trust`."""
    recorded = home.releases / TRUSTED_KEY
    held = recorded.exists() or recorded.is_symlink()
    if trust is None:
        if not held:
            raise ReleaseError(
                f"no trusted key recorded in {home.root} yet; the first pull needs --trust KEY.pub"
            )
        return load_public_key(recorded)
    key = load_public_key(trust)
    same = held and public_key_bytes(load_public_key(recorded)) == public_key_bytes(key)
    if held and not same and not replace_trust:
        raise ReleaseError(
            f"{trust} is not the key this home trusts ({recorded}); refusing releases "
            "signed by another key (give --replace-trust to trust it instead)"
        )
    return key


def refuse_rollback(home: Home, manifest: Manifest, *, allow_rollback: bool) -> None:
    """ReleaseError when `manifest` is older than the current release, unless allowed (an
    attacker replaying an old, validly signed release must not roll a device back)."""
    if allow_rollback:
        return
    try:
        current = load_current_release(home).manifest
    except TastevecError:  # nothing current that still reads: nothing to roll back from
        return
    if datetime.fromisoformat(manifest.created) < datetime.fromisoformat(current.created):
        raise ReleaseError(
            f"release {manifest.release_id} ({manifest.created}) is older than the current "
            f"{current.release_id} ({current.created}); refusing a rollback (give "
            "--allow-rollback to install it anyway)"
        )


def blobs_to_fetch(home: Home, manifest: Manifest) -> tuple[BlobRef, ...]:
    """The blobs of `manifest` the cache lacks or holds damaged (each held blob is checked,
    so that pulling a good release again repairs a cache a byte flip has broken)."""
    make_private_dir(home.blobs, error=ReleaseError, what="release cache")
    return tuple(ref for ref in manifest.blobs() if blob_problem(home.root, ref) is not None)


def install_release(
    home: Home, manifest: Manifest, manifest_bytes: bytes, signature: bytes
) -> InstalledRelease:
    """Give the release folder every blob (hard links to the home's shared blobs, which must
    hold them all) and the manifest and signature exactly as signed; not yet current. No blob
    is read here: `make_current` verifies the installed release in full, once."""
    root = release_folder(home, manifest.release_id)
    make_private_dir(root / BLOB_DIR, error=ReleaseError, what="release folder")
    for ref in manifest.blobs():
        link_blob(root, home.root, ref, mode=CACHE_BLOB_MODE, check=False)
    write_atomic(root / MANIFEST_FILE, manifest_bytes, mode=PRIVATE_FILE_MODE)
    write_atomic(root / SIGNATURE_FILE, signature, mode=PRIVATE_FILE_MODE)
    return InstalledRelease(root, manifest)


def make_current(home: Home, release: InstalledRelease, public_key: Ed25519PublicKey) -> None:
    """Check `release` in full against `public_key`, then record both as the ones in use."""
    verify_release(release.root, public_key)
    write_atomic(home.releases / TRUSTED_KEY, public_key_bytes(public_key), mode=PRIVATE_FILE_MODE)
    text = (release.manifest.release_id + "\n").encode()
    write_atomic(home.releases / CURRENT, text, mode=PRIVATE_FILE_MODE)


def release_folder(home: Home, release_id: str) -> Path:
    """Where release `release_id` is installed; ReleaseError for an id that is not safe as a
    folder name (`..`, `current`, `trusted.pub`, ...)."""
    return home.releases / check_release_id(release_id)


def current_release_id(home: Home) -> str | None:
    path = home.releases / CURRENT
    if not path.exists() and not path.is_symlink():
        return None
    data = read_regular_file(
        path, limit=_CURRENT_LIMIT, what="the current release's name", error=ReleaseError
    )
    text = data.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        return check_release_id(text)
    except ReleaseError as exc:
        raise ReleaseError(f"{path}: {exc}; pull a release again") from None


def load_current_release(home: Home) -> InstalledRelease:
    """The release in use, its signature checked again against the trusted key."""
    release_id = current_release_id(home)
    if release_id is None:
        raise ReleaseError(
            f"no release installed in {home.root}; run: tastevec-client pull --server "
            "HOST:PORT --trust KEY.pub (or --from-dir RELEASE --trust KEY.pub)"
        )
    root = release_folder(home, release_id)
    if not (root / MANIFEST_FILE).is_file():
        raise ReleaseError(f"release {release_id} is named current in {home.root} but missing")
    manifest = read_signed_manifest(root, load_public_key(home.releases / TRUSTED_KEY))
    if manifest.release_id != release_id:
        raise ReleaseError(
            f"{root}: manifest is release {manifest.release_id}, not {release_id}; refusing it"
        )
    return InstalledRelease(root, manifest)


def current_release_problem(home: Home) -> str | None:
    """Why the current release no longer verifies in full (its signature or a blob), or None
    when it does or when none is installed; for `status`, which reads every blob."""
    try:
        release = load_current_release(home)
        verify_release(release.root, load_public_key(home.releases / TRUSTED_KEY))
    except TastevecError as exc:
        return str(exc)
    return None


def installed_release_ids(home: Home) -> list[str]:
    if not home.releases.is_dir():
        return []
    return sorted(p.name for p in home.releases.iterdir() if (p / MANIFEST_FILE).is_file())


def _reason(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"
