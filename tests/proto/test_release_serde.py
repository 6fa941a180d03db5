"""Messages <-> domain types: every pair round-trips, and a malformed message is a
ReleaseError at the edge."""

import pytest

from tastevec.common.errors import ReleaseError
from tastevec.common.release_manifest import BlobRef
from tastevec.common.release_protocol import (
    BlobChunk,
    BlobRequest,
    PriorInfo,
    PriorPublication,
    PriorRequest,
    PublishOutcome,
    ReleaseListing,
    ReleaseSummary,
    SignedManifest,
)
from tastevec.proto import release_serde as serde
from tastevec.proto.release.v1 import release_pb2 as pb

DIGEST = "ab" * 32


def test_every_pair_round_trips_through_bytes() -> None:
    listing = ReleaseListing((ReleaseSummary("r-1", "2026-12-01T00:00:00Z", 42),), "r-1")
    empty = ReleaseListing((), None)
    for value in (listing, empty):
        wire = pb.ListReleasesResponse.FromString(serde.listing_to_proto(value).SerializeToString())
        assert serde.listing_from_proto(wire) == value
    signed = SignedManifest("r-1", b"{}\n", b"s" * 64)
    assert serde.signed_manifest_from_proto(serde.signed_manifest_to_proto(signed)) == signed
    request = BlobRequest(DIGEST, 7)
    assert serde.blob_request_from_proto(serde.blob_request_to_proto(request)) == request
    chunk = BlobChunk(3, b"abc", 10)
    assert serde.chunk_from_proto(serde.chunk_to_proto(chunk)) == chunk
    prior_request = PriorRequest(None, "global")
    assert serde.prior_request_from_proto(serde.prior_request_to_proto(prior_request)) == (
        prior_request
    )
    info = PriorInfo("r-2", "global", BlobRef(DIGEST, 99), 12)
    assert serde.prior_from_proto(serde.prior_to_proto(info)) == info
    outcome = PublishOutcome("r-2", False, (DIGEST,), False)
    assert serde.outcome_from_proto(serde.outcome_to_proto(outcome)) == outcome
    publication = PriorPublication("r-1", b"m", b"s", b"p")
    assert serde.prior_publication_from_proto(serde.prior_publication_to_proto(publication)) == (
        publication
    )
    assert serde.current_from_proto(serde.current_to_proto("r-1")) == "r-1"
    assert serde.current_from_proto(serde.current_to_proto(None)) is None
    ref = BlobRef(DIGEST, 5)
    assert serde.upload_header_from_proto(serde.upload_to_proto(ref, b"x", first=True)) == ref


@pytest.mark.parametrize(
    "chunk",
    [
        BlobChunk(0, b"first chunk of a blob", 21),  # offset 0: protobuf leaves it out
        BlobChunk(3, b"abc", 0),
        BlobChunk(127, bytes(range(256)) * 1025, 2**63 + 5),  # varints of 1 and 10 bytes
        BlobChunk(128, b"\x00", 0),
        BlobChunk(2**35, b"", 2**35),  # an empty chunk at a blob's end
        BlobChunk(0, b"", 0),
    ],
)
def test_a_chunk_on_the_wire_is_the_bytes_protobuf_makes(chunk: BlobChunk) -> None:
    wire = serde.chunk_to_wire(chunk)
    assert wire == serde.chunk_to_proto(chunk).SerializeToString()
    assert serde.chunk_from_proto(pb.BlobChunk.FromString(wire)) == chunk


@pytest.mark.parametrize(
    "message, read",
    [
        (pb.FetchBlobRequest(sha256="../../etc/passwd"), serde.blob_request_from_proto),
        (pb.FetchBlobRequest(sha256=DIGEST.upper()), serde.blob_request_from_proto),
        (pb.GetManifestRequest(release_id=".."), serde.manifest_request_from_proto),
        (pb.GetManifestRequest(release_id="a/b"), serde.manifest_request_from_proto),
        (pb.GetManifestRequest(release_id="current"), serde.manifest_request_from_proto),
        (pb.GetPriorRequest(release_id="../x", layout="global"), serde.prior_request_from_proto),
        (pb.GetPriorRequest(layout="../global"), serde.prior_request_from_proto),
        (pb.GetPriorRequest(layout=""), serde.prior_request_from_proto),
        (pb.BlobUpload(sha256="/abs", size=1), serde.upload_header_from_proto),
        (pb.PublishPriorRequest(base_release_id="../r"), serde.prior_publication_from_proto),
    ],
)
def test_a_name_that_could_become_a_path_is_refused(message: object, read: object) -> None:
    with pytest.raises(ReleaseError):
        read(message)  # type: ignore[operator]
