"""The device's release cache: verified releases installed under a person's home.

    HOME/blobs/<sha256>                      every blob once, shared by all installed releases
    HOME/releases/<release id>/manifest.json the release as signed, its blobs hard-linked
    HOME/releases/<release id>/manifest.sig  from HOME/blobs (copied where links fail)
    HOME/releases/trusted.pub                the public key releases are checked against
    HOME/releases/current                    the id of the release in use

A release is installed only after its signature and every blob verify; it becomes current
only once it is complete, so an interrupted pull leaves the previous release in use. Each
use checks the signature again and every blob as it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tastevec.client.home import Home
from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import ReleaseError
from tastevec.common.release import (
    MANIFEST_FILE,
    SIGNATURE_FILE,
    link_blob,
    missing_blobs,
    read_signed_manifest,
    verify_release,
)
from tastevec.common.release_manifest import Manifest
from tastevec.common.signing import load_public_key, public_key_bytes

TRUSTED_KEY = "trusted.pub"
CURRENT = "current"


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


def pull_from_dir(home: Home, source: Path, trust: Path) -> PullResult:
    """Verify the release at `source` against the key file `trust` and make it current."""
    public_key = load_public_key(trust)
    manifest = verify_release(source, public_key)
    held = {path.name for path in home.blobs.glob("*")} if home.blobs.is_dir() else set()
    needed = missing_blobs(manifest, held)
    for ref in needed:  # copied: the cache must not share files with the folder pulled from
        link_blob(home.root, source, ref, copy=True)
    root = home.releases / manifest.release_id
    for ref in manifest.blobs():
        link_blob(root, home.root, ref)
    for name in (MANIFEST_FILE, SIGNATURE_FILE):
        write_atomic(root / name, (source / name).read_bytes())
    verify_release(root, public_key)
    write_atomic(home.releases / TRUSTED_KEY, public_key_bytes(public_key))
    already = current_release_id(home) == manifest.release_id
    write_atomic(home.releases / CURRENT, (manifest.release_id + "\n").encode())
    reused = len(manifest.blobs()) - len(needed)
    return PullResult(InstalledRelease(root, manifest), len(needed), reused, already)


def current_release_id(home: Home) -> str | None:
    try:
        text = (home.releases / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def load_current_release(home: Home) -> InstalledRelease:
    """The release in use, its signature checked again against the trusted key."""
    release_id = current_release_id(home)
    if release_id is None:
        raise ReleaseError(
            f"no release installed in {home.root}; run: tastevec-client pull --from-dir "
            "RELEASE --trust KEY.pub"
        )
    root = home.releases / release_id
    if not (root / MANIFEST_FILE).is_file():
        raise ReleaseError(f"release {release_id} is named current in {home.root} but missing")
    manifest = read_signed_manifest(root, load_public_key(home.releases / TRUSTED_KEY))
    if manifest.release_id != release_id:
        raise ReleaseError(
            f"{root}: manifest is release {manifest.release_id}, not {release_id}; refusing it"
        )
    return InstalledRelease(root, manifest)


def installed_release_ids(home: Home) -> list[str]:
    if not home.releases.is_dir():
        return []
    return sorted(p.name for p in home.releases.iterdir() if (p / MANIFEST_FILE).is_file())
