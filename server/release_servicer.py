"""The release service over gRPC: a thin servicer over server/release_handlers.py.

Each method converts its request with tastevec.proto.release_serde, calls one handler and
converts the answer back. Errors become status codes through one table
(server/release_errors.py). Writes need the writer's credential: gRPC metadata
`authorization: Bearer <token>`, compared in constant time. Every request logs one line:
method, the release id or digest prefix it names, status, bytes sent and time; nothing else
about the client.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import grpc

from tastevec.common.errors import TastevecError
from tastevec.common.release_protocol import CHUNK_BYTES
from tastevec.proto import release_serde as serde
from tastevec.proto.release.v1 import release_pb2 as pb
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.server import release_handlers as handlers
from tastevec.server.release_errors import (
    PermissionDeniedError,
    UnauthenticatedError,
    status_for,
)
from tastevec.server.release_store import ReleaseStore

logger = logging.getLogger(__name__)
T = TypeVar("T")
AUTHORIZATION = "authorization"


class ReleaseServicer(pb_grpc.ReleaseServiceServicer):
    def __init__(
        self, store: ReleaseStore, *, writer_token: bytes | None, chunk_bytes: int = CHUNK_BYTES
    ) -> None:
        self._store = store
        self._writer_token = writer_token
        self._chunk_bytes = chunk_bytes

    def ListReleases(
        self, request: pb.ListReleasesRequest, context: grpc.ServicerContext
    ) -> pb.ListReleasesResponse:
        return _answer(
            "ListReleases",
            "",
            context,
            lambda: serde.listing_to_proto(handlers.list_releases(self._store)),
        )

    def GetCurrentRelease(
        self, request: pb.GetCurrentReleaseRequest, context: grpc.ServicerContext
    ) -> pb.GetCurrentReleaseResponse:
        return _answer(
            "GetCurrentRelease",
            "",
            context,
            lambda: serde.current_to_proto(handlers.current_release(self._store)),
        )

    def GetManifest(
        self, request: pb.GetManifestRequest, context: grpc.ServicerContext
    ) -> pb.GetManifestResponse:
        def work() -> pb.GetManifestResponse:
            release_id = serde.manifest_request_from_proto(request)
            return serde.signed_manifest_to_proto(handlers.get_manifest(self._store, release_id))

        return _answer("GetManifest", _named(request.release_id), context, work)

    def GetPrior(
        self, request: pb.GetPriorRequest, context: grpc.ServicerContext
    ) -> pb.GetPriorResponse:
        def work() -> pb.GetPriorResponse:
            prior_request = serde.prior_request_from_proto(request)
            return serde.prior_to_proto(handlers.get_prior(self._store, prior_request))

        return _answer("GetPrior", _named(request.release_id), context, work)

    def FetchBlob(
        self, request: pb.FetchBlobRequest, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        """The blob's chunks as BlobChunk wire bytes (`serde.chunk_to_wire`; registered with
        no serializer by `release_server.add_release_service`)."""
        start = time.monotonic()
        code = grpc.StatusCode.OK
        sent = 0
        try:
            blob_request = serde.blob_request_from_proto(request)
            chunks = handlers.fetch_blob(self._store, blob_request, chunk_bytes=self._chunk_bytes)
            for chunk in chunks:
                if not context.is_active():
                    code = grpc.StatusCode.CANCELLED
                    return
                yield serde.chunk_to_wire(chunk)
                sent += len(chunk.data)
        except GeneratorExit:  # the client went away or the server is stopping
            code = grpc.StatusCode.CANCELLED
            raise
        except TastevecError as exc:
            code = status_for(exc)
            context.abort(code, _one_line(exc))
        except Exception:
            code = grpc.StatusCode.INTERNAL
            logger.exception("FetchBlob failed")
            context.abort(code, "internal error")
        finally:
            _log("FetchBlob", f"{_named(request.sha256)}@{request.offset}", code, sent, start)

    def UploadBlob(
        self, request_iterator: Iterable[pb.BlobUpload], context: grpc.ServicerContext
    ) -> pb.UploadBlobResponse:
        def work() -> pb.UploadBlobResponse:
            self._require_writer(context)
            messages = iter(request_iterator)
            first = next(messages, None)
            if first is None:
                raise TastevecError("an upload with no message")
            ref = serde.upload_header_from_proto(first)

            def data() -> Iterator[bytes]:
                yield serde.upload_data_from_proto(first)
                for message in messages:
                    yield serde.upload_data_from_proto(message)

            return serde.upload_result_to_proto(ref, handlers.upload_blob(self._store, ref, data()))

        return _answer("UploadBlob", "", context, work)

    def PublishRelease(
        self, request: pb.PublishReleaseRequest, context: grpc.ServicerContext
    ) -> pb.PublishReleaseResponse:
        def work() -> pb.PublishReleaseResponse:
            self._require_writer(context)
            manifest, signature = serde.publish_request_from_proto(request)
            return serde.outcome_to_proto(
                handlers.publish_release(self._store, manifest, signature)
            )

        return _answer("PublishRelease", "", context, work)

    def PublishPrior(
        self, request: pb.PublishPriorRequest, context: grpc.ServicerContext
    ) -> pb.PublishReleaseResponse:
        def work() -> pb.PublishReleaseResponse:
            self._require_writer(context)
            publication = serde.prior_publication_from_proto(request)
            return serde.outcome_to_proto(handlers.publish_prior(self._store, publication))

        return _answer("PublishPrior", _named(request.base_release_id), context, work)

    def _require_writer(self, context: grpc.ServicerContext) -> None:
        if self._writer_token is None:
            raise PermissionDeniedError(
                "this server takes no publishes over the wire (it was started without "
                "--writer-token-file)"
            )
        metadata = dict(context.invocation_metadata() or ())
        given = metadata.get(AUTHORIZATION)
        if not given:
            raise UnauthenticatedError("publishing needs a writer credential (--token-file)")
        expected = b"Bearer " + self._writer_token
        if not hmac.compare_digest(str(given).encode(), expected):
            raise PermissionDeniedError("the writer credential is not this server's")


def _answer(method: str, named: str, context: grpc.ServicerContext, work: Callable[[], T]) -> T:
    start = time.monotonic()
    code = grpc.StatusCode.OK
    try:
        return work()
    except TastevecError as exc:
        code = status_for(exc)
        context.abort(code, _one_line(exc))
    except Exception:
        code = grpc.StatusCode.INTERNAL
        logger.exception("%s failed", method)
        context.abort(code, "internal error")
    finally:
        _log(method, named, code, 0, start)
    raise RuntimeError("context.abort returned")  # it raises; this line is never reached


def _named(value: str) -> str:
    """What a request names, short and printable (a digest's first 12 characters)."""
    return value[:12].encode("ascii", "replace").decode() if value.isprintable() else "?"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _log(method: str, named: str, code: grpc.StatusCode, sent: int, start: float) -> None:
    elapsed = (time.monotonic() - start) * 1000
    logger.info("%s %s %s %d bytes %.1f ms", method, named or "-", code.name, sent, elapsed)
