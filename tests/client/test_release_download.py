"""`pull --server` against real servers on 127.0.0.1 (port 0), honest and malicious: full and
delta pulls, resume after the server dies mid-blob, 20 clients at once, and each threat
(after TUF's threat model) refused with a one-line error and the cache intact."""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.release_cache import current_release_id, load_current_release, pull_from_dir
from tastevec.client.release_download import PARTIAL_DIR, PullOptions, pull_from_server
from tastevec.common.errors import ReleaseError
from tastevec.common.release import blob_path, verify_release
from tastevec.common.release_manifest import Manifest
from tastevec.common.signing import load_private_key, load_public_key
from tastevec.proto.release.v1 import release_pb2 as pb
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.proto.release_channel import RetryPolicy
from tastevec.server.keys import generate_key_pair
from tastevec.server.release_server import RunningServer, ServerLimits, TlsFiles, create_server
from tastevec.server.release_servicer import ReleaseServicer
from tastevec.server.release_store import ReleaseStore
from tastevec.simulations.benchmarks.synthetic_release import add_prior, add_task_vector

CHUNK = 16 * 1024
FAST = RetryPolicy(attempts=6, first_backoff=0.1, max_backoff=1.0, deadline=10)
PATIENT = RetryPolicy(attempts=20, first_backoff=0.1, max_backoff=1.0, deadline=10)
STALL = 1.5  # seconds without a chunk that count as a stall (well above a loaded CI's gaps)


@pytest.fixture
def store(small_release: Path, service_key: tuple[Path, Path], tmp_path: Path) -> ReleaseStore:
    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    store.publish_from_dir(small_release)
    return store


@pytest.fixture
def server(store: ReleaseStore) -> Iterator[RunningServer]:
    running = create_server(store, limits=ServerLimits(chunk_bytes=CHUNK))
    yield running
    running.stop(0)


def manifest_of(release: Path, key: tuple[Path, Path]) -> Manifest:
    return verify_release(release, load_public_key(key[1]))


def options(key: tuple[Path, Path], **more: object) -> PullOptions:
    more.setdefault("policy", FAST)
    return PullOptions(trust=key[1], **more)  # type: ignore[arg-type]


def test_a_full_pull_then_a_delta_of_one_task_vector_then_of_one_prior(
    server: RunningServer,
    store: ReleaseStore,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    target = f"127.0.0.1:{server.port}"
    home = Home(tmp_path / "home")
    base = manifest_of(small_release, service_key)
    first = pull_from_server(home, target, options(service_key))
    assert first.bytes_fetched == sum(r.size for r in base.blobs())
    assert current_release_id(home) == base.release_id
    for ref in base.blobs():
        assert blob_path(home.root, ref.sha256).read_bytes() == (
            blob_path(small_release, ref.sha256).read_bytes()
        )
    again = pull_from_server(home, target, PullOptions(policy=FAST))  # the pinned key
    assert again.bytes_fetched == 0 and again.result.already_current
    key = load_private_key(service_key[0])
    r2 = add_task_vector(
        small_release,
        base,
        tmp_path / "r2",
        key,
        source="ava",
        size=33_333,
        created="2026-12-02T00:00:00Z",
    )
    store.publish_from_dir(tmp_path / "r2")
    delta = pull_from_server(home, target, PullOptions(policy=FAST))
    assert delta.bytes_fetched == 33_333 and delta.result.blobs_fetched == 1
    r3 = add_prior(
        tmp_path / "r2",
        r2,
        tmp_path / "r3",
        key,
        prior=b"prior" * 100,
        created="2026-12-03T00:00:00Z",
    )
    store.publish_from_dir(tmp_path / "r3")
    prior_delta = pull_from_server(home, target, PullOptions(policy=FAST))
    assert prior_delta.bytes_fetched == 500
    assert load_current_release(home).manifest == r3
    assert not list((home.root / PARTIAL_DIR).iterdir())


def test_a_pull_resumes_after_the_server_dies_mid_blob(
    store: ReleaseStore, small_release: Path, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    limits = ServerLimits(chunk_bytes=CHUNK)
    running = [create_server(store, limits=limits)]
    port = running[0].port
    total = sum(r.size for r in manifest_of(small_release, service_key).blobs())
    seen = [0]
    killed = threading.Event()

    def restart() -> None:
        time.sleep(0.3)
        running.append(create_server(store, f"127.0.0.1:{port}", limits=limits))

    def progress(_: int) -> Callable[[int], None]:
        def on_chunk(size: int) -> None:
            seen[0] += size
            if seen[0] >= total // 2 and not killed.is_set():
                killed.set()
                running[0].server.stop(None)  # dies at once: streams in flight are cut
                threading.Thread(target=restart).start()

        return on_chunk

    home = Home(tmp_path / "home")
    try:
        pulled = pull_from_server(
            home, f"127.0.0.1:{port}", options(service_key, policy=PATIENT), progress=progress
        )
    finally:
        for server in running:
            server.stop(0)
    assert killed.is_set()
    assert pulled.bytes_fetched == total  # nothing sent twice
    verify_release(load_current_release(home).root, load_public_key(service_key[1]))


def test_twenty_clients_at_once_get_identical_verified_releases(
    server: RunningServer, small_release: Path, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    target = f"127.0.0.1:{server.port}"
    homes = [Home(tmp_path / f"home{i}") for i in range(20)]
    with futures.ThreadPoolExecutor(20) as pool:
        pulls = list(pool.map(lambda h: pull_from_server(h, target, options(service_key)), homes))
    expected = manifest_of(small_release, service_key)
    assert all(p.result.release.manifest == expected for p in pulls)
    for home in homes:
        verify_release(load_current_release(home).root, load_public_key(service_key[1]))


class Malicious(ReleaseServicer):
    """A server that lies in one way (`mode`), over the real store."""

    def __init__(self, store: ReleaseStore, mode: str) -> None:
        super().__init__(store, writer_token=None, chunk_bytes=CHUNK)
        self.mode = mode
        self.store = store

    def GetManifest(
        self, request: pb.GetManifestRequest, context: grpc.ServicerContext
    ) -> pb.GetManifestResponse:
        response = super().GetManifest(request, context)
        if self.mode == "manifest":
            response.manifest = response.manifest.replace(b"koniq", b"konia", 1)
        elif self.mode == "signature":
            response.signature = bytes([response.signature[0] ^ 1]) + response.signature[1:]
        elif self.mode == "release-id":
            response.release_id = "../../outside"
        elif self.mode == "huge-manifest":
            response.manifest = b" " * (5 * 2**20)
        return response

    def FetchBlob(
        self, request: pb.FetchBlobRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.BlobChunk]:
        manifest = self.store.manifest(None)
        if self.mode == "mix":  # another blob of this release under the asked digest
            other = manifest.backbone.head.sha256
            if request.sha256 != other:
                request = pb.FetchBlobRequest(sha256=other, offset=request.offset)
        end = request.offset
        for index, wire in enumerate(super().FetchBlob(request, context)):
            chunk = pb.BlobChunk.FromString(wire)  # the real chunk, made a message to tamper with
            if index == 1 and self.mode == "blob":
                chunk.data = bytes([chunk.data[0] ^ 1]) + chunk.data[1:]
            if index == 1 and self.mode == "stall":
                time.sleep(STALL + 3)
            if index == 1 and self.mode == "offset":
                chunk.offset += 1
            if index == 1 and self.mode == "huge-chunk":  # over the client's message limit
                chunk.data = chunk.data * (9 * 2**20 // len(chunk.data) + 1)
            end = chunk.offset + len(chunk.data)
            yield chunk
        if self.mode == "endless":
            while context.is_active():
                yield pb.BlobChunk(offset=end, data=b"x" * CHUNK)
                end += CHUNK


def start_malicious(store: ReleaseStore, mode: str) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(4))
    pb_grpc.add_ReleaseServiceServicer_to_server(Malicious(store, mode), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.mark.parametrize(
    "mode, message",
    [
        ("manifest", "signature does not verify"),
        ("signature", "signature does not verify"),
        ("release-id", "release id '../../outside'"),
        ("huge-manifest", "over its size limit"),
        ("blob", "its bytes have sha256"),
        ("mix", "the server says it has 4096 bytes"),
        ("offset", "a chunk at byte"),
        ("huge-chunk", "RESOURCE_EXHAUSTED"),
        ("endless", "more than the manifest's"),
        ("stall", "the server stalled"),
    ],
)
def test_each_threat_is_refused_and_the_good_release_stays_current(
    mode: str,
    message: str,
    store: ReleaseStore,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    home = Home(tmp_path / "home")
    good = pull_from_dir(home, small_release, service_key[1]).release.manifest
    for ref in good.blobs():  # make every blob one the pull must fetch
        blob_path(home.root, ref.sha256).unlink()
    server, port = start_malicious(store, mode)
    try:
        with pytest.raises(ReleaseError, match=message) as caught:
            pull_from_server(home, f"127.0.0.1:{port}", options(service_key, stall_seconds=STALL))
    finally:
        server.stop(0)
    assert "\n" not in str(caught.value)
    assert current_release_id(home) == good.release_id
    assert load_current_release(home).manifest == good
    pull_from_dir(home, small_release, service_key[1])  # and a good pull repairs it


def test_a_release_signed_by_another_key_is_refused(
    server: RunningServer,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, other = generate_key_pair(tmp_path / "other")
    home = Home(tmp_path / "home")
    target = f"127.0.0.1:{server.port}"
    with pytest.raises(ReleaseError, match="signature does not verify"):
        pull_from_server(home, target, PullOptions(trust=other, policy=FAST))
    assert current_release_id(home) is None
    pull_from_server(home, target, options(service_key))
    # the pinned key cannot be swapped by a --trust alone, on either path
    with pytest.raises(ReleaseError, match="not the key this home trusts"):
        pull_from_server(home, target, PullOptions(trust=other, policy=FAST))
    with pytest.raises(ReleaseError, match="not the key this home trusts"):
        pull_from_dir(home, small_release, other)
    args = ["pull", "--home", str(home.root), "--server", target, "--trust", str(other)]
    assert client_main([*args, "--no-progress"]) == 2
    assert "--replace-trust" in capsys.readouterr().err
    with pytest.raises(ReleaseError, match="signature does not verify"):
        pull_from_server(home, target, PullOptions(trust=other, replace_trust=True, policy=FAST))
    assert load_public_key(home.releases / "trusted.pub").public_bytes_raw() == (
        load_public_key(service_key[1]).public_bytes_raw()
    )


def test_a_rollback_to_an_older_release_is_refused_unless_asked_for(
    server: RunningServer,
    store: ReleaseStore,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    base = manifest_of(small_release, service_key)
    newer = add_task_vector(
        small_release,
        base,
        tmp_path / "r2",
        load_private_key(service_key[0]),
        source="ava",
        size=10,
        created="2026-12-09T00:00:00Z",
    )
    home = Home(tmp_path / "home")
    pull_from_dir(home, tmp_path / "r2", service_key[1])
    target = f"127.0.0.1:{server.port}"
    with pytest.raises(ReleaseError, match="refusing a rollback"):
        pull_from_server(home, target, options(service_key))
    with pytest.raises(ReleaseError, match="refusing a rollback"):
        pull_from_dir(home, small_release, service_key[1])
    assert current_release_id(home) == newer.release_id
    rolled = pull_from_server(home, target, options(service_key, allow_rollback=True))
    assert rolled.result.release.manifest == base


def test_an_interrupted_pull_resumes_from_its_byte_on_the_next_pull(
    store: ReleaseStore, small_release: Path, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    server, port = start_malicious(store, "stall")
    try:
        with pytest.raises(ReleaseError, match="stalled"):
            one_at_a_time = options(service_key, stall_seconds=STALL, parallel_blobs=1)
            pull_from_server(home, f"127.0.0.1:{port}", one_at_a_time)
    finally:
        server.stop(0)
    assert current_release_id(home) is None
    running = create_server(store, limits=ServerLimits(chunk_bytes=CHUNK))
    try:
        pulled = pull_from_server(home, f"127.0.0.1:{running.port}", options(service_key))
    finally:
        running.stop(0)
    total = sum(r.size for r in manifest_of(small_release, service_key).blobs())
    assert pulled.bytes_resumed == CHUNK  # the first chunk, kept from the stalled attempt
    assert pulled.bytes_fetched == total - CHUNK


def test_pull_over_tls_with_a_test_ca_from_the_command_line(
    store: ReleaseStore,
    service_key: tuple[Path, Path],
    test_tls: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ca, cert, key = test_tls
    running = create_server(store, tls=TlsFiles(cert, key))
    home = tmp_path / "home"
    try:
        args = ["pull", "--home", str(home), "--server", f"localhost:{running.port}"]
        args += ["--trust", str(service_key[1]), "--tls-ca", str(ca), "--no-progress"]
        assert client_main(args) == 0
    finally:
        running.stop(0)
    assert "verified and installed (now current)" in capsys.readouterr().out
    assert current_release_id(Home(home)) == store.current_release_id()


def test_no_server_there_is_a_one_line_error_after_retries(
    service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    with pytest.raises(ReleaseError, match="UNAVAILABLE"):
        pull_from_server(Home(tmp_path / "home"), "127.0.0.1:1", options(service_key))
