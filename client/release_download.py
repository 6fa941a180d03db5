"""`pull --server`: install the current release of a release service into the device's cache.

The same cache and the same checks as `pull --from-dir` (client/release_cache.py):

1. the manifest and its signature are fetched and the signature is checked against the
   pinned key BEFORE the manifest is parsed; a release older than the current one is refused;
2. only the blobs the cache lacks (or holds damaged) are fetched, each into
   HOME/partial/<sha256>.part, its sha256 and size checked as the bytes arrive: a chunk at
   the wrong offset, or a stream longer than the manifest's size, is cut off and refused;
3. an interrupted blob resumes from the byte it stopped at (the partial file's length), on a
   retry after UNAVAILABLE or on the next pull;
4. only when every blob is in place does the release become current, so a failed or tampered
   pull leaves the previous release current and usable.

A stream that stalls (no chunk for `stall_seconds`) is cancelled and refused; calls have
deadlines; UNAVAILABLE alone is retried, with backoff.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import grpc

from tastevec.client.home import Home
from tastevec.client.release_cache import (
    CACHE_BLOB_MODE,
    PullResult,
    blobs_to_fetch,
    complete_pull,
    pinned_key,
    refuse_rollback,
)
from tastevec.common.errors import ReleaseError
from tastevec.common.os_inputs import PRIVATE_FILE_MODE, make_private_dir
from tastevec.common.release import MANIFEST_LIMIT, SIGNATURE_LIMIT, blob_path
from tastevec.common.release_manifest import BlobRef, Manifest
from tastevec.common.release_protocol import BlobRequest, SignedManifest
from tastevec.common.signing import verify_signature
from tastevec.proto import release_serde as serde
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.proto.release_channel import RetryPolicy, call, open_channel, rpc_error

PARTIAL_DIR = "partial"
Progress = Callable[[int], None]  # called with each chunk's byte count


@dataclass(frozen=True, slots=True)
class PullOptions:
    release_id: str | None = None  # None: the server's current release
    trust: Path | None = None
    replace_trust: bool = False
    allow_rollback: bool = False
    tls_ca: Path | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    stall_seconds: float = 30.0  # longest wait for the next chunk of a blob
    blob_deadline: float = 3600.0  # longest one blob stream may run
    parallel_blobs: int = 3  # blobs streamed at once (each resumes on its own)


@dataclass(frozen=True, slots=True)
class ServerPull:
    result: PullResult
    bytes_fetched: int  # bytes received over the wire, resumed bytes not counted twice
    bytes_resumed: int  # bytes of partial files kept from an earlier, interrupted attempt
    transfer_seconds: float  # manifest and blobs over the wire, each checked as it arrived


def pull_from_server(
    home: Home,
    target: str,
    options: PullOptions = PullOptions(),  # frozen: sharing the default is safe
    *,
    progress: Callable[[int], Progress] | None = None,
) -> ServerPull:
    """Install the release `options.release_id` (default: current) from the service at
    `target`. `progress(total_bytes)` may return a callback fed each chunk's size."""
    public_key = pinned_key(home, options.trust, replace_trust=options.replace_trust)
    start = time.perf_counter()
    with open_channel(target, tls_ca=options.tls_ca) as channel:
        stub = pb_grpc.ReleaseServiceStub(channel)

        def get_manifest() -> SignedManifest:
            request = serde.manifest_request_to_proto(options.release_id)
            response = stub.GetManifest(request, timeout=options.policy.deadline)
            return serde.signed_manifest_from_proto(response)

        signed = call("manifest", target, get_manifest, options.policy)
        what = f"release {signed.release_id} from {target}"
        if len(signed.manifest) > MANIFEST_LIMIT or len(signed.signature) > SIGNATURE_LIMIT:
            raise ReleaseError(f"{what}: manifest or signature over its size limit; refused")
        verify_signature(public_key, signed.manifest, signed.signature, what=what)
        manifest = Manifest.from_bytes(signed.manifest, origin=what)
        if manifest.release_id != signed.release_id:
            raise ReleaseError(f"{what}: the signed manifest is {manifest.release_id}; refused")
        refuse_rollback(home, manifest, allow_rollback=options.allow_rollback)
        home.create()
        needed = blobs_to_fetch(home, manifest)
        partial = home.root / PARTIAL_DIR
        make_private_dir(partial, error=ReleaseError, what="partial downloads")
        resumed = sum(_partial_size(partial, ref) for ref in needed)
        total = sum(ref.size for ref in needed) - resumed
        on_chunk = progress(total) if progress is not None else None
        failed = threading.Event()

        def fetch(ref: BlobRef) -> int:
            if failed.is_set():  # a blob already failed: start no other
                return 0
            try:
                return _download_blob(stub, target, home, ref, options, on_chunk)
            except BaseException:
                failed.set()
                raise

        workers = max(1, min(options.parallel_blobs, len(needed)))
        with futures.ThreadPoolExecutor(workers, thread_name_prefix="pull") as pool:
            jobs = [pool.submit(fetch, ref) for ref in needed]
            fetched = sum(job.result() for job in jobs)  # the first failure, in manifest order
        transfer = time.perf_counter() - start
        signed_files = (signed.manifest, signed.signature)
        result = complete_pull(home, manifest, signed_files, public_key, needed)
    return ServerPull(result, fetched, resumed, transfer)


def progress_bar(total: int) -> Progress:
    """A progress bar on stderr with bytes, rate and time left; closes itself when full."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="pull")

    def advance(size: int) -> None:
        bar.update(size)
        if bar.n >= total:
            bar.close()

    if total == 0:
        bar.close()
    return advance


def _partial_size(partial: Path, ref: BlobRef) -> int:
    try:
        size = (partial / f"{ref.sha256}.part").stat().st_size
    except FileNotFoundError:
        return 0
    return size if size <= ref.size else 0


def _download_blob(
    stub: pb_grpc.ReleaseServiceStub,
    target: str,
    home: Home,
    ref: BlobRef,
    options: PullOptions,
    on_chunk: Progress | None,
) -> int:
    """Fetch blob `ref` into the cache, resuming its partial file; the bytes received."""
    what = f"blob {ref.sha256[:12]} from {target}"
    part = home.root / PARTIAL_DIR / f"{ref.sha256}.part"
    received = [0]
    for attempt in range(options.policy.attempts):
        try:
            _stream_into(stub, what, part, ref, options, on_chunk, received)
            break
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or attempt == options.policy.attempts - 1:
                raise rpc_error(f"blob {ref.sha256[:12]}", target, exc) from None
            time.sleep(options.policy.backoff(attempt))
    part.chmod(CACHE_BLOB_MODE)
    os.replace(part, blob_path(home.root, ref.sha256))
    return received[0]


def _stream_into(
    stub: pb_grpc.ReleaseServiceStub,
    what: str,
    part: Path,
    ref: BlobRef,
    options: PullOptions,
    on_chunk: Progress | None,
    received: list[int],
) -> None:
    """Append the blob's bytes from where `part` ends, checking offsets, size and, at the
    end, the sha256 of the whole; grpc.RpcError passes through for the caller to retry.
    The chunks are received here and hashed and written by a `_BlobWriter` thread, so the
    next chunk arrives while the last is hashed and written."""
    offset = _partial_size(part.parent, ref)
    digest = hashlib.sha256()
    descriptor = os.open(part, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "r+b", buffering=0) as handle:
        while offset and (held := handle.read(min(1 << 20, offset - handle.tell()))):
            digest.update(held)
        handle.seek(offset)
        handle.truncate(offset)
        request = serde.blob_request_to_proto(BlobRequest(ref.sha256, offset))
        stream = stub.FetchBlob(request, timeout=options.blob_deadline)
        watchdog = _Watchdog(options.stall_seconds, stream.cancel)
        writer = _BlobWriter(handle, digest)
        first = True
        try:
            for message in stream:
                chunk = serde.chunk_from_proto(message)
                watchdog.touch()
                problem = _chunk_problem(chunk.offset, len(chunk.data), offset, ref)
                if first and chunk.size != ref.size:
                    problem = f"the server says it has {chunk.size} bytes, the manifest {ref.size}"
                if problem is not None:
                    stream.cancel()
                    writer.finish()
                    _discard(handle, part)
                    raise ReleaseError(f"{what}: {problem}; refused")
                first = False
                writer.put(chunk.data)
                offset += len(chunk.data)
                received[0] += len(chunk.data)
                if on_chunk is not None:
                    on_chunk(len(chunk.data))
        except grpc.RpcError:
            if watchdog.stalled:
                raise ReleaseError(
                    f"{what}: the server stalled (no data for {options.stall_seconds:g} s); "
                    "refused, the bytes so far are kept for the next pull"
                ) from None
            raise
        finally:
            watchdog.stop()
            writer.finish()  # every chunk received is written (and hashed) before we go on
            os.fsync(handle.fileno())
        if offset != ref.size:
            raise ReleaseError(f"{what}: the stream ended at byte {offset} of {ref.size}")
        if digest.hexdigest() != ref.sha256:
            _discard(handle, part)
            raise ReleaseError(
                f"{what}: its bytes have sha256 {digest.hexdigest()[:12]}, the signed manifest "
                f"says {ref.sha256[:12]}; refused (a tampered or mixed-up blob)"
            )


class _BlobWriter:
    """Hashes and writes a blob's chunks in a thread of its own (hashlib and file writes
    release the GIL), fed through a bounded queue: at most `depth` chunks wait in memory.
    A write that fails (a full disk) is raised by the next `put` or by `finish`."""

    def __init__(self, handle: BinaryIO, digest: hashlib._Hash, depth: int = 8) -> None:
        self._handle = handle
        self._digest = digest
        self._queue: queue.Queue[bytes | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._finished = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="pull-writer")
        self._thread.start()

    def put(self, data: bytes) -> None:
        self._raise_error()
        self._queue.put(data)

    def finish(self) -> None:
        """Wait until every chunk put is written and hashed; raise a write's error."""
        if not self._finished:
            self._finished = True
            self._queue.put(None)
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain, so that a producer never blocks on a full queue
            try:
                view = memoryview(data)
                while view:
                    view = view[self._handle.write(view) or 0 :]
                self._digest.update(data)
            except BaseException as exc:  # handed to the receiving thread
                self._error = exc


def _chunk_problem(at: int, length: int, expected: int, ref: BlobRef) -> str | None:
    if at != expected:
        return f"a chunk at byte {at} where byte {expected} was due"
    if expected + length > ref.size:
        return f"more than the manifest's {ref.size} bytes"
    return None


def _discard(handle: BinaryIO, part: Path) -> None:
    handle.truncate(0)
    part.unlink(missing_ok=True)


class _Watchdog:
    """Calls `on_stall` once when `touch` has not been called for `seconds`."""

    def __init__(self, seconds: float, on_stall: Callable[[], object]) -> None:
        self.stalled = False
        self._seconds = seconds
        self._on_stall = on_stall
        self._last = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def touch(self) -> None:
        self._last = time.monotonic()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(min(0.25, self._seconds / 4)):
            if time.monotonic() - self._last > self._seconds:
                self.stalled = True
                self._on_stall()
                return
