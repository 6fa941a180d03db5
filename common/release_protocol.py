"""What the release service says, as domain types: the wire's messages, minus protobuf.

`tastevec.proto.release_serde` converts these to and from the generated messages; the
server's handlers and the device's client see only these. Each checks what a peer could get
wrong (a digest that is not one, a negative offset) when it is built, so a malformed
request fails once, at the edge, with a ReleaseError.
"""

from __future__ import annotations

from dataclasses import dataclass

from tastevec.common.errors import ReleaseError
from tastevec.common.release_manifest import BlobRef, check_release_id

CHUNK_BYTES = 256 * 1024  # one blob chunk on the wire; bounds the server's memory per stream


@dataclass(frozen=True, slots=True)
class ReleaseSummary:
    release_id: str
    created: str
    total_bytes: int

    def __post_init__(self) -> None:
        check_release_id(self.release_id)


@dataclass(frozen=True, slots=True)
class ReleaseListing:
    releases: tuple[ReleaseSummary, ...]
    current_release_id: str | None


@dataclass(frozen=True, slots=True)
class SignedManifest:
    """A release's manifest and its signature, exactly the bytes that were signed."""

    release_id: str
    manifest: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_release_id(self.release_id)


@dataclass(frozen=True, slots=True)
class BlobRequest:
    """A blob by sha256, from byte `offset` to its end."""

    sha256: str
    offset: int = 0

    def __post_init__(self) -> None:
        BlobRef(self.sha256, 0)  # 64 lowercase hex digits, or a ReleaseError
        if self.offset < 0:
            raise ReleaseError(f"blob {self.sha256[:12]}: offset {self.offset} is negative")


@dataclass(frozen=True, slots=True)
class BlobChunk:
    offset: int
    data: bytes
    size: int  # the whole blob's size; 0 after the first chunk


@dataclass(frozen=True, slots=True)
class PriorRequest:
    release_id: str | None  # None: the current release
    layout: str

    def __post_init__(self) -> None:
        if self.release_id is not None:
            check_release_id(self.release_id)
        if not self.layout or len(self.layout) > 64 or not self.layout.isidentifier():
            raise ReleaseError(f"prior layout {self.layout!r} is not a layout name")


@dataclass(frozen=True, slots=True)
class PriorInfo:
    release_id: str
    layout: str
    blob: BlobRef
    people: int


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    release_id: str
    published: bool
    missing: tuple[str, ...]  # sha256 of blobs to upload first
    current: bool


@dataclass(frozen=True, slots=True)
class PriorPublication:
    """A new prior: a signed release differing from `base_release_id` only by its priors."""

    base_release_id: str
    manifest: bytes
    signature: bytes
    prior: bytes

    def __post_init__(self) -> None:
        check_release_id(self.base_release_id)
