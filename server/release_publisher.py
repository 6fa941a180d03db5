"""Publishing into a release service over the wire, as a writer.

Sends the signed manifest; the server answers with the blobs it lacks; those are uploaded,
streamed from disk in chunks, and the manifest is sent again to publish. The server checks
the signature against its store's key and every blob's sha256 and size, so this side only
moves bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tastevec.common.errors import ReleaseError
from tastevec.common.os_inputs import open_regular_file
from tastevec.common.release import blob_path, read_signed_files
from tastevec.common.release_manifest import BlobRef, Manifest
from tastevec.common.release_protocol import CHUNK_BYTES, PublishOutcome
from tastevec.proto import release_serde as serde
from tastevec.proto.release.v1 import release_pb2 as pb
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.proto.release_channel import RetryPolicy, call, open_channel

UPLOAD_DEADLINE = 3600.0
DEFAULT_POLICY = RetryPolicy()


def publish_over_wire(
    source: Path,
    target: str,
    token: bytes,
    *,
    tls_ca: Path | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> PublishOutcome:
    manifest_bytes, signature = read_signed_files(source)
    manifest = Manifest.from_bytes(manifest_bytes, origin=f"release {source}")
    refs = {ref.sha256: ref for ref in manifest.blobs()}
    metadata = (("authorization", "Bearer " + token.decode()),)
    with open_channel(target, tls_ca=tls_ca) as channel:
        stub = pb_grpc.ReleaseServiceStub(channel)
        request = serde.publish_request_to_proto(manifest_bytes, signature)

        def publish() -> PublishOutcome:
            response = stub.PublishRelease(request, timeout=policy.deadline, metadata=metadata)
            return serde.outcome_from_proto(response)

        outcome = call("publish", target, publish, policy)
        for sha256 in outcome.missing:
            if sha256 not in refs:
                raise ReleaseError(f"publish to {target}: the server asks for unknown {sha256}")
            path = blob_path(source, sha256)

            def upload(path: Path = path, ref: BlobRef = refs[sha256]) -> bool:
                messages = _upload_messages(path, ref)
                response = stub.UploadBlob(messages, timeout=UPLOAD_DEADLINE, metadata=metadata)
                return serde.upload_result_from_proto(response)

            call(f"upload of blob {sha256[:12]}", target, upload, policy)
        if outcome.missing:
            outcome = call("publish", target, publish, policy)
        if not outcome.published:
            raise ReleaseError(f"publish to {target}: still missing {len(outcome.missing)} blobs")
        return outcome


def _upload_messages(path: Path, ref: BlobRef) -> Iterator[pb.BlobUpload]:
    with open_regular_file(path, what=f"blob {ref.sha256[:12]}", error=ReleaseError) as opened:
        handle = opened[0]
        data = handle.read(CHUNK_BYTES)
        yield serde.upload_to_proto(ref, data, first=True)
        while data := handle.read(CHUNK_BYTES):
            yield serde.upload_to_proto(ref, data, first=False)
