"""Start and stop the release service: `create_server` builds and binds it, `serve` runs it
until SIGTERM or SIGINT and then stops gracefully.

Beside the release service the server answers the standard gRPC health service
(grpc.health.v1) and server reflection, so stock tools (grpc_health_probe, grpcurl) can
talk to it. Limits: messages up to `max_message_bytes` each way, at most
`max_concurrent_rpcs` calls at once (more are answered RESOURCE_EXHAUSTED), blobs streamed in
`chunk_bytes` chunks. A graceful stop first reports NOT_SERVING on the health service, then
gives calls in flight `grace_seconds` to finish before cancelling them.
"""

from __future__ import annotations

import logging
import signal
import stat
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from tastevec.common.errors import KeyFileError
from tastevec.common.os_inputs import read_regular_file
from tastevec.common.release_protocol import CHUNK_BYTES
from tastevec.proto.release.v1 import release_pb2 as pb
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.server.release_servicer import ReleaseServicer
from tastevec.server.release_store import ReleaseStore

logger = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ReleaseService"].full_name
CREDENTIAL_LIMIT = 64 * 2**10
TOKEN_MIN_CHARS = 16


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_message_bytes: int = 8 * 2**20  # a chunk is 256 KiB; a manifest a few kB
    max_concurrent_rpcs: int = 256  # more are answered RESOURCE_EXHAUSTED
    workers: int = 64  # a blob stream holds one worker thread while it runs
    chunk_bytes: int = CHUNK_BYTES
    grace_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer

    def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, then stop: calls in flight get `grace` seconds."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def create_server(
    store: ReleaseStore,
    address: str = "127.0.0.1:0",
    *,
    tls: TlsFiles | None = None,
    writer_token: bytes | None = None,
    limits: ServerLimits = ServerLimits(),  # frozen: sharing the default is safe
) -> RunningServer:
    """The release service bound to `address` (port 0: any free port) and started."""
    options = [
        ("grpc.max_receive_message_length", limits.max_message_bytes),
        ("grpc.max_send_message_length", limits.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="release"),
        options=options,
        maximum_concurrent_rpcs=limits.max_concurrent_rpcs,
    )
    servicer = ReleaseServicer(store, writer_token=writer_token, chunk_bytes=limits.chunk_bytes)
    add_release_service(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    names = (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        key = read_regular_file(tls.key, limit=CREDENTIAL_LIMIT, what="TLS key", error=KeyFileError)
        cert = read_regular_file(
            tls.cert, limit=CREDENTIAL_LIMIT, what="TLS certificate", error=KeyFileError
        )
        port = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    if port == 0:
        raise KeyFileError(f"cannot listen on {address}")
    server.start()
    return RunningServer(server, port, health_servicer)


def add_release_service(servicer: pb_grpc.ReleaseServiceServicer, server: grpc.Server) -> None:
    """The generated registration of the release service, except that FetchBlob's chunks
    are sent as the servicer yields them: already serialised (`serde.chunk_to_wire`)."""
    generated = _GeneratedHandlers()
    pb_grpc.add_ReleaseServiceServicer_to_server(servicer, generated)
    handlers = dict(generated.handlers)
    fetch = handlers["FetchBlob"]
    handlers["FetchBlob"] = grpc.unary_stream_rpc_method_handler(
        servicer.FetchBlob, request_deserializer=fetch.request_deserializer
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)


class _GeneratedHandlers:
    """Takes the method handlers the generated `add_..._to_server` would give a server."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        pass  # the same handlers come again, by name, through the call below

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        if service != SERVICE_NAME or "FetchBlob" not in handlers:
            raise RuntimeError(f"generated code registers {service}, not {SERVICE_NAME}")
        self.handlers = handlers


def read_writer_token(path: Path) -> bytes:
    """The writer token in `path`: one line of at least 16 characters, in a file only its
    owner can read."""
    data = read_regular_file(path, limit=4096, what="writer token", error=KeyFileError)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"writer token {path} is readable by others (mode {mode:04o}); chmod 600"
        )
    token = data.strip()
    if len(token) < TOKEN_MIN_CHARS or not token.isascii() or b" " in token or b"\n" in token:
        raise KeyFileError(
            f"writer token {path} must be one line of at least {TOKEN_MIN_CHARS} ASCII "
            "characters without spaces"
        )
    return token


def serve(running: RunningServer, *, grace_seconds: float) -> None:
    """Block until SIGTERM or SIGINT, then stop gracefully."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %d: stopping, %.0f s for calls in flight", signum, grace_seconds)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stopping.wait()
    finally:
        running.stop(grace_seconds)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
