"""Publish a population prior: a new signed release that is the old one plus the prior.

The new release folder hard-links every blob of the release it extends (backbone, head, task
vectors, the other layouts' priors) and adds one small blob, the prior; its manifest names
the new prior for its layout and is signed with the operator's key. A device that holds the
old release pulls only the prior's blob: a small delta. Until the release service publishes
priors itself, releases live side by side in one folder, each under its own id.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.errors import ReleaseError
from tastevec.common.release import link_blob, sign_release, verify_release, write_blob
from tastevec.common.release_manifest import Manifest, PriorEntry, new_release_id, utc_now_iso


def publish_prior(
    source: Path,
    prior: CoefficientPrior,
    releases: Path,
    private_key: Ed25519PrivateKey,
    *,
    notes: dict[str, object] | None = None,
) -> tuple[Path, Manifest]:
    """Write `releases/<new id>`: the release at `source` (verified against `private_key`'s
    public half) with `prior` as its prior for `prior.layout`; returns its folder and manifest."""
    manifest = verify_release(source, private_key.public_key())
    releases.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".publishing-", dir=releases))
    try:
        ref = write_blob(staging, prior.to_bytes())
        entry = PriorEntry(prior.layout.value, ref, prior.people)
        priors = (*(p for p in manifest.priors if p.layout != entry.layout), entry)
        published = dataclasses.replace(
            manifest,
            release_id="pending",
            created=utc_now_iso(),
            priors=priors,
            notes={**manifest.notes, "prior_of": manifest.release_id, **(notes or {})},
        )
        for blob in published.blobs():
            if blob.sha256 != ref.sha256:
                link_blob(staging, source, blob)  # hard-linked: every blob is shared
        digests = [blob.sha256 for blob in published.blobs()]
        published = dataclasses.replace(published, release_id=new_release_id(digests))
        sign_release(staging, published, private_key)
        target = releases / published.release_id
        if target.exists():
            raise ReleaseError(f"release {published.release_id} already exists in {releases}")
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target, published
