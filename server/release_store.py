"""The operator's release store: every published release, its blobs stored once by sha256.

    STORE/trusted.pub                       the public key every release here is signed with
    STORE/blobs/<sha256>                    each blob once, read-only, shared by all releases
    STORE/releases/<release id>/manifest.json   the manifest exactly as signed
    STORE/releases/<release id>/manifest.sig    its Ed25519 signature
    STORE/current                           the id of the newest release (by `created`)

Publishing verifies the signature against STORE/trusted.pub and adds only the blobs the store
lacks, so a release that adds one task vector adds one blob. Every name that becomes a path is
checked first (release ids by `check_release_id`, digests as 64 lowercase hex), so no request
reaches outside the store. Blobs, manifests and `current` are written atomically (temporary
file, fsync, rename) and a release folder appears whole or not at all, so several server
processes can serve and publish into one store: the server keeps no state of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import KeyFileError, ReleaseError
from tastevec.common.os_inputs import open_regular_file
from tastevec.common.release import (
    BLOB_MODE,
    MANIFEST_FILE,
    MANIFEST_LIMIT,
    SIGNATURE_FILE,
    blob_path,
    link_blob,
    missing_blobs,
    read_signed_files,
    verify_release,
)
from tastevec.common.release_manifest import BlobRef, Manifest, check_release_id
from tastevec.common.release_protocol import (
    PriorInfo,
    PublishOutcome,
    ReleaseListing,
    ReleaseSummary,
    SignedManifest,
)
from tastevec.common.signing import load_public_key, public_key_bytes, verify_signature
from tastevec.server.release_errors import ConflictError, NotFoundError, PermissionDeniedError

TRUSTED_KEY = "trusted.pub"
CURRENT = "current"
RELEASES = "releases"
INCOMING = "incoming"
BLOB_LIMIT = 16 * 2**30  # the largest blob an upload may announce
# An entry of STORE/incoming/ untouched this long belongs to no live upload or publish (an
# upload may run an hour, and writes as it goes): one a killed server process left behind.
STALE_INCOMING_SECONDS = 2 * 3600.0


@dataclass(frozen=True, slots=True)
class ReleaseStore:
    root: Path

    @classmethod
    def open(cls, root: Path, *, trust: Path | None = None) -> ReleaseStore:
        """The store at `root`, made if needed. `trust` pins its key on first use; a store
        with a key refuses a different one (it would let another signer publish)."""
        store = cls(root)
        key_file = root / TRUSTED_KEY
        if trust is not None:
            key = load_public_key(trust)
            if key_file.exists():
                if public_key_bytes(store.public_key()) != public_key_bytes(key):
                    raise KeyFileError(
                        f"release store {root} trusts another key than {trust}; refusing to "
                        "mix signers in one store"
                    )
            else:
                root.mkdir(parents=True, exist_ok=True)
                write_atomic(key_file, public_key_bytes(key))
        elif not key_file.is_file():
            raise ReleaseError(
                f"release store {root} has no {TRUSTED_KEY}; publish into it once with "
                "--trust KEY.pub"
            )
        for folder in (root / "blobs", root / RELEASES, root / INCOMING):
            folder.mkdir(parents=True, exist_ok=True)
        store.remove_stale_incoming()
        return store

    def remove_stale_incoming(self, max_age: float = STALE_INCOMING_SECONDS) -> list[str]:
        """Delete what killed processes left in STORE/incoming/ (an upload's temporary file,
        a half-written release folder): entries not modified for `max_age` seconds. Fresh
        ones are kept, since another replica sharing the store may be writing them. A
        failed upload or publish removes its own at once; this is for SIGKILL and power loss.
        Returns the names removed."""
        removed = []
        cutoff = time.time() - max_age
        for entry in (self.root / INCOMING).iterdir():
            try:
                if entry.lstat().st_mtime >= cutoff:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except FileNotFoundError:  # another replica removed it meanwhile
                continue
            removed.append(entry.name)
        return removed

    def public_key(self) -> Ed25519PublicKey:
        return load_public_key(self.root / TRUSTED_KEY)

    # Reading -------------------------------------------------------------------------------

    def release_ids(self) -> list[str]:
        folder = self.root / RELEASES
        ids = []
        for entry in folder.iterdir():
            with contextlib.suppress(ReleaseError):
                if (entry / SIGNATURE_FILE).is_file():
                    ids.append(check_release_id(entry.name))
        return ids

    def current_release_id(self) -> str | None:
        try:
            text = (self.root / CURRENT).read_text().strip()
        except FileNotFoundError:
            return None
        return check_release_id(text) if text else None

    def signed_manifest(self, release_id: str | None) -> SignedManifest:
        """The manifest and signature of `release_id` (None: the current release)."""
        if release_id is None:
            release_id = self.current_release_id()
            if release_id is None:
                raise NotFoundError("the store holds no release yet")
        folder = self._release_folder(release_id)
        if not (folder / SIGNATURE_FILE).is_file():
            raise NotFoundError(f"no release {release_id!r}")
        return SignedManifest(release_id, *read_signed_files(folder))

    def manifest(self, release_id: str | None) -> Manifest:
        signed = self.signed_manifest(release_id)
        return Manifest.from_bytes(signed.manifest, origin=f"release {signed.release_id}")

    def listing(self) -> ReleaseListing:
        summaries = []
        for release_id in self.release_ids():
            manifest = self.manifest(release_id)
            total = sum(ref.size for ref in manifest.blobs())
            summaries.append(ReleaseSummary(release_id, manifest.created, total))
        summaries.sort(key=lambda s: (s.created, s.release_id))
        return ReleaseListing(tuple(summaries), self.current_release_id())

    def prior(self, release_id: str | None, layout: str) -> PriorInfo:
        manifest = self.manifest(release_id)
        entry = manifest.prior(layout)
        if entry is None:
            raise NotFoundError(f"release {manifest.release_id} has no {layout!r} prior")
        return PriorInfo(manifest.release_id, entry.layout, entry.blob, entry.people)

    @contextlib.contextmanager
    def open_blob(self, sha256: str) -> Iterator[tuple[BinaryIO, int]]:
        """The blob's open file and size; NotFoundError when the store lacks it."""
        path = blob_path(self.root, sha256)  # refuses anything but a digest
        if not path.is_file():
            raise NotFoundError(f"no blob {sha256[:12]}")
        with open_regular_file(path, what=f"blob {sha256[:12]}", error=ReleaseError) as opened:
            yield opened

    def has_blob(self, ref: BlobRef) -> bool:
        """Whether the store holds `ref` (by size: blobs are checked in full as they arrive)."""
        try:
            return blob_path(self.root, ref.sha256).stat().st_size == ref.size
        except FileNotFoundError:
            return False

    # Writing -------------------------------------------------------------------------------

    def add_blob(self, ref: BlobRef, chunks: Iterable[bytes]) -> bool:
        """Store the blob `ref` from `chunks`, checked for size and sha256 as they arrive (a
        stream longer than `ref.size` is cut off). False when the store held it already."""
        if ref.size > BLOB_LIMIT:
            raise ReleaseError(f"blob {ref.sha256[:12]} of {ref.size} bytes is over the limit")
        if self.has_blob(ref):
            for _ in chunks:  # drain: the writer sent it anyway
                pass
            return False
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{ref.sha256}.", suffix=".part", dir=self.root / INCOMING
        )
        temp = Path(temp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(handle, "wb") as out:
                for data in chunks:
                    size += len(data)
                    if size > ref.size:
                        raise ReleaseError(
                            f"blob {ref.sha256[:12]}: more than its {ref.size} bytes; refused"
                        )
                    digest.update(data)
                    out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if size != ref.size:
                raise ReleaseError(f"blob {ref.sha256[:12]}: {size} bytes of {ref.size} arrived")
            if digest.hexdigest() != ref.sha256:
                raise ReleaseError(
                    f"blob {ref.sha256[:12]}: its bytes have sha256 {digest.hexdigest()[:12]}"
                )
            temp.chmod(BLOB_MODE)
            os.replace(temp, blob_path(self.root, ref.sha256))
        finally:
            temp.unlink(missing_ok=True)
        return True

    def publish(self, manifest_bytes: bytes, signature: bytes) -> PublishOutcome:
        """Publish a signed release whose blobs the store holds. With blobs missing, nothing
        is published and the outcome names them. The newest release (by `created`) becomes
        current; publishing an older one keeps the current release (no rollback)."""
        if len(manifest_bytes) > MANIFEST_LIMIT:
            raise ReleaseError(f"manifest of {len(manifest_bytes)} bytes is over the limit")
        manifest = self._signed_by_trusted_key(manifest_bytes, signature)
        missing = tuple(r.sha256 for r in manifest.blobs() if not self.has_blob(r))
        if missing:
            return PublishOutcome(manifest.release_id, False, missing, False)
        self._write_release(manifest, manifest_bytes, signature)
        return PublishOutcome(manifest.release_id, True, (), self._advance_current(manifest))

    def publish_from_dir(self, source: Path) -> PublishOutcome:
        """Verify the release folder `source` in full and publish it, copying only the
        blobs the store lacks."""
        manifest = verify_release(source, self.public_key())
        held = [ref.sha256 for ref in manifest.blobs() if self.has_blob(ref)]
        for ref in missing_blobs(manifest, held):
            link_blob(self.root, source, ref, copy=True)
        return self.publish(*read_signed_files(source))

    def publish_prior(
        self, base_release_id: str, manifest_bytes: bytes, signature: bytes, prior: bytes
    ) -> PublishOutcome:
        """Publish a new prior: a signed release that is `base_release_id` but for its priors
        (and its id, date and notes), whose one new blob is `prior`."""
        base = self.manifest(base_release_id)
        manifest = self._signed_by_trusted_key(manifest_bytes, signature)
        same = replace(base, release_id=manifest.release_id, created=manifest.created)
        same = replace(same, notes=manifest.notes, priors=manifest.priors)
        if same != manifest:
            raise ReleaseError(
                f"release {manifest.release_id} differs from {base_release_id} by more than its "
                "priors; publish it as a release"
            )
        ref = BlobRef(hashlib.sha256(prior).hexdigest(), len(prior))
        if ref not in {p.blob for p in manifest.priors}:
            raise ReleaseError(f"the prior sent ({ref.sha256[:12]}) is none of the manifest's")
        self.add_blob(ref, [prior])
        return self.publish(manifest_bytes, signature)

    def _signed_by_trusted_key(self, manifest_bytes: bytes, signature: bytes) -> Manifest:
        """The manifest, once its signature checks out against the store's pinned key."""
        try:
            verify_signature(self.public_key(), manifest_bytes, signature, what="release")
        except ReleaseError as exc:
            raise PermissionDeniedError(f"{exc} this store trusts; refused") from None
        return Manifest.from_bytes(manifest_bytes, origin="published manifest")

    def _release_folder(self, release_id: str) -> Path:
        return self.root / RELEASES / check_release_id(release_id)

    def _write_release(self, manifest: Manifest, manifest_bytes: bytes, signature: bytes) -> None:
        folder = self._release_folder(manifest.release_id)
        if (folder / SIGNATURE_FILE).is_file():
            held = self.signed_manifest(manifest.release_id)
            if held.manifest != manifest_bytes:
                raise ConflictError(f"the store holds another release {manifest.release_id}")
            return  # published already (possibly by another replica)
        temp = Path(tempfile.mkdtemp(prefix=".publish-", dir=self.root / INCOMING))
        try:
            write_atomic(temp / MANIFEST_FILE, manifest_bytes)
            write_atomic(temp / SIGNATURE_FILE, signature)
            try:
                os.rename(temp, folder)
            except OSError:  # published meanwhile by another process: same bytes or conflict
                if not (folder / SIGNATURE_FILE).is_file():
                    raise
                if self.signed_manifest(manifest.release_id).manifest != manifest_bytes:
                    raise ConflictError(
                        f"the store holds another release {manifest.release_id}"
                    ) from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def _advance_current(self, manifest: Manifest) -> bool:
        """Make `manifest` current unless the current release is newer; whether it is."""
        current = self.current_release_id()
        if (
            current is not None
            and current != manifest.release_id
            and _created_at(self.manifest(current)) > _created_at(manifest)
        ):
            return False
        write_atomic(self.root / CURRENT, (manifest.release_id + "\n").encode())
        return True


def _created_at(manifest: Manifest) -> datetime:
    return datetime.fromisoformat(manifest.created)
