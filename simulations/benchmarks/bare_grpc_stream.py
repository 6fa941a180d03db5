"""The floor of one gRPC release stream in Python, for `tastevec-sim bench release`.

A bare grpcio server (run as `python -m tastevec.simulations.benchmarks.bare_grpc_stream BYTES`; it
prints its port) streams BYTES of one pre-made chunk from memory through the release
protocol's own `FetchBlob` message, serialised as the release server does it
(`serde.chunk_to_wire`), with no store, no disk read, no check; `receive` takes
the stream into a file as cheaply as grpcio allows (sha256 and write inline, one fsync). What
this costs beyond a socket copy is grpcio's (HTTP/2 framing, protobuf, Python threads);
`pull --server` adds the store's disk reads and its checks, and streams three blobs at once
(so it can beat this one stream).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc

from tastevec.common.release_protocol import CHUNK_BYTES, BlobChunk
from tastevec.proto import release_serde as serde
from tastevec.proto.release.v1 import release_pb2 as pb
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.server.release_server import add_release_service


class _BareService(pb_grpc.ReleaseServiceServicer):
    def __init__(self, total: int) -> None:
        self._total = total
        self._chunk = os.urandom(CHUNK_BYTES)

    def FetchBlob(
        self, request: pb.FetchBlobRequest, context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        offset = 0
        while offset < self._total:
            data = self._chunk[: min(CHUNK_BYTES, self._total - offset)]
            yield serde.chunk_to_wire(BlobChunk(offset, data, self._total if not offset else 0))
            offset += len(data)


def receive(port: int, out: Path) -> float:
    """Seconds to take the bare server's whole stream into `out` (hashed, written, fsync)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.ReleaseServiceStub(channel)
        grpc.channel_ready_future(channel).result(timeout=30)
        start = time.perf_counter()
        digest = hashlib.sha256()
        with out.open("wb", buffering=0) as handle:
            for message in stub.FetchBlob(pb.FetchBlobRequest(sha256="0" * 64), timeout=600):
                digest.update(message.data)
                handle.write(message.data)
            os.fsync(handle.fileno())
        elapsed = time.perf_counter() - start
    out.unlink()
    return elapsed


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    add_release_service(_BareService(int(sys.argv[1])), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"serving 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
