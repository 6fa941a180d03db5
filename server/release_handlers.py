"""What each release-service method does, as plain functions of the store and domain types.

The servicer (server/release_servicer.py) only converts messages, checks the writer's
credential and maps errors to status codes; everything else happens here, testable without
gRPC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from tastevec.common.release_manifest import BlobRef
from tastevec.common.release_protocol import (
    CHUNK_BYTES,
    BlobChunk,
    BlobRequest,
    PriorInfo,
    PriorPublication,
    PriorRequest,
    PublishOutcome,
    ReleaseListing,
    SignedManifest,
)
from tastevec.server.release_errors import NotFoundError, OutOfRangeError
from tastevec.server.release_store import ReleaseStore


def list_releases(store: ReleaseStore) -> ReleaseListing:
    return store.listing()


def current_release(store: ReleaseStore) -> str | None:
    return store.current_release_id()


def get_manifest(store: ReleaseStore, release_id: str | None) -> SignedManifest:
    return store.signed_manifest(release_id)


def fetch_blob(
    store: ReleaseStore, request: BlobRequest, *, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[BlobChunk]:
    """The blob from `request.offset` on, read from disk one chunk at a time (never whole).
    The first chunk carries the blob's size, also when the offset is its end."""
    with store.open_blob(request.sha256) as (handle, size):
        if request.offset > size:
            raise OutOfRangeError(
                f"blob {request.sha256[:12]}: offset {request.offset} is past its {size} bytes"
            )
        handle.seek(request.offset)
        offset = request.offset
        first = True
        while first or offset < size:
            data = handle.read(min(chunk_bytes, size - offset))
            if not data and offset < size:
                raise NotFoundError(f"blob {request.sha256[:12]} ended early on the server")
            yield BlobChunk(offset, data, size if first else 0)
            offset += len(data)
            first = False


def get_prior(store: ReleaseStore, request: PriorRequest) -> PriorInfo:
    return store.prior(request.release_id, request.layout)


def upload_blob(store: ReleaseStore, ref: BlobRef, chunks: Iterable[bytes]) -> bool:
    return store.add_blob(ref, chunks)


def publish_release(store: ReleaseStore, manifest: bytes, signature: bytes) -> PublishOutcome:
    return store.publish(manifest, signature)


def publish_prior(store: ReleaseStore, publication: PriorPublication) -> PublishOutcome:
    return store.publish_prior(
        publication.base_release_id, publication.manifest, publication.signature, publication.prior
    )
