"""Signed releases of random bytes, of any size, in seconds: for the release service's tests
and benchmark, where what matters is the bytes moved and checked, not the model.

The blobs are random (incompressible) bytes under a real manifest, signed with a real key;
`add_task_vector` and `add_prior` make the next release the way forge and the prior
publication do (every unchanged blob kept, one new blob added).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tastevec.common.release import link_blob, sign_release, write_blob
from tastevec.common.release_manifest import (
    BackboneEntry,
    BlobRef,
    Manifest,
    PriorEntry,
    TaskVectorEntry,
    new_release_id,
)


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def build_release(
    out: Path,
    key: Ed25519PrivateKey,
    *,
    backbone_bytes: int,
    task_vector_bytes: dict[str, int],
    created: str = "2026-12-01T00:00:00Z",
) -> Manifest:
    """A release at `out`: backbone weights, a head and one task vector per source."""
    weights = write_blob(out, random_bytes(backbone_bytes))
    head = write_blob(out, random_bytes(4096))
    backbone = BackboneEntry(
        name="synthetic",
        architecture="synthetic",
        weights=weights,
        head_kind="linear",
        head=head,
        preprocessing={"size": 64},
        base_digest=weights.sha256,
    )
    vectors = tuple(
        _task_vector(source, write_blob(out, random_bytes(size)))
        for source, size in task_vector_bytes.items()
    )
    manifest = Manifest("pending", created, backbone, vectors)
    return _sign(out, manifest, key)


def add_task_vector(
    base: Path,
    base_manifest: Manifest,
    out: Path,
    key: Ed25519PrivateKey,
    *,
    source: str,
    size: int,
    created: str,
) -> Manifest:
    """The next release: `base`'s blobs (hard-linked) and one new task vector."""
    _copy_blobs(base, base_manifest, out)
    entry = _task_vector(source, write_blob(out, random_bytes(size)))
    manifest = replace(
        base_manifest, task_vectors=(*base_manifest.task_vectors, entry), created=created
    )
    return _sign(out, manifest, key)


def add_prior(
    base: Path,
    base_manifest: Manifest,
    out: Path,
    key: Ed25519PrivateKey,
    *,
    prior: bytes,
    created: str,
    layout: str = "global",
    people: int = 20,
) -> Manifest:
    """The next release: `base`'s blobs and a new prior (whose bytes the caller makes)."""
    _copy_blobs(base, base_manifest, out)
    entry = PriorEntry(layout, write_blob(out, prior), people)
    others = tuple(p for p in base_manifest.priors if p.layout != layout)
    manifest = replace(base_manifest, priors=(*others, entry), created=created)
    return _sign(out, manifest, key)


def _task_vector(source: str, blob: BlobRef) -> TaskVectorEntry:
    return TaskVectorEntry(
        source=source,
        title=f"synthetic {source}",
        kind="task_vector",
        blob=blob,
        encoding="float16",
        scope="all",
        parameters=blob.size // 2,
        training={},
        metrics={"srocc": 0.5},
    )


def _copy_blobs(base: Path, manifest: Manifest, out: Path) -> None:
    for ref in manifest.blobs():
        link_blob(out, base, ref)


def _sign(out: Path, manifest: Manifest, key: Ed25519PrivateKey) -> Manifest:
    manifest = replace(manifest, release_id=new_release_id(r.sha256 for r in manifest.blobs()))
    sign_release(out, manifest, key)
    return manifest
