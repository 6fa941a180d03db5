"""The release service on a real gRPC server on 127.0.0.1 (port 0): each method, each bad
request answered with its status code, writers only with their credential, the stock health
and reflection clients, TLS with a CA made here, SIGTERM on a real `tastevec-server serve`."""

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from tastevec.common.errors import ReleaseError
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key
from tastevec.proto.release.v1 import release_pb2 as pb
from tastevec.proto.release.v1 import release_pb2_grpc as pb_grpc
from tastevec.server.release_publisher import publish_over_wire
from tastevec.server.release_server import (
    SERVICE_NAME,
    RunningServer,
    ServerLimits,
    TlsFiles,
    create_server,
)
from tastevec.server.release_store import ReleaseStore

TOKEN = b"writer-token-0123456789"


@pytest.fixture
def store(small_release: Path, service_key: tuple[Path, Path], tmp_path: Path) -> ReleaseStore:
    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    store.publish_from_dir(small_release)
    return store


@pytest.fixture
def server(store: ReleaseStore) -> Iterator[RunningServer]:
    running = create_server(
        store, writer_token=TOKEN, limits=ServerLimits(chunk_bytes=64 * 1024, grace_seconds=1)
    )
    try:
        yield running
    finally:
        running.stop(0)


@pytest.fixture
def stub(server: RunningServer) -> Iterator[pb_grpc.ReleaseServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield pb_grpc.ReleaseServiceStub(channel)


def code_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        result = call()  # type: ignore[operator]
        if isinstance(result, Iterator):
            list(result)
    return caught.value.code()


def test_listing_manifest_and_blobs_are_the_stored_bytes(
    stub: pb_grpc.ReleaseServiceStub, small_release: Path, service_key: tuple[Path, Path]
) -> None:
    manifest = verify_release(small_release, load_public_key(service_key[1]))
    listing = stub.ListReleases(pb.ListReleasesRequest(), timeout=5)
    assert [r.release_id for r in listing.releases] == [manifest.release_id]
    assert listing.current_release_id == manifest.release_id
    assert listing.releases[0].total_bytes == sum(r.size for r in manifest.blobs())
    current = stub.GetCurrentRelease(pb.GetCurrentReleaseRequest(), timeout=5)
    assert current.release_id == manifest.release_id
    signed = stub.GetManifest(pb.GetManifestRequest(), timeout=5)
    assert signed.manifest == (small_release / "manifest.json").read_bytes()
    assert signed.signature == (small_release / "manifest.sig").read_bytes()
    ref = manifest.backbone.weights
    blob = (small_release / "blobs" / ref.sha256).read_bytes()
    chunks = list(stub.FetchBlob(pb.FetchBlobRequest(sha256=ref.sha256), timeout=5))
    assert len(chunks) == -(-ref.size // (64 * 1024))  # streamed in chunks, not whole
    assert chunks[0].size == ref.size and b"".join(c.data for c in chunks) == blob
    assert [c.offset for c in chunks] == list(range(0, ref.size, 64 * 1024))
    tail = list(stub.FetchBlob(pb.FetchBlobRequest(sha256=ref.sha256, offset=ref.size - 10)))
    assert b"".join(c.data for c in tail) == blob[-10:] and tail[0].offset == ref.size - 10
    end = list(stub.FetchBlob(pb.FetchBlobRequest(sha256=ref.sha256, offset=ref.size)))
    assert [(c.data, c.size) for c in end] == [(b"", ref.size)]


def test_each_bad_request_gets_its_status_code(
    stub: pb_grpc.ReleaseServiceStub, small_release: Path, service_key: tuple[Path, Path]
) -> None:
    manifest = verify_release(small_release, load_public_key(service_key[1]))
    ref = manifest.backbone.weights
    fetch = stub.FetchBlob
    cases = {
        grpc.StatusCode.OUT_OF_RANGE: [
            lambda: fetch(pb.FetchBlobRequest(sha256=ref.sha256, offset=ref.size + 1)),
            lambda: fetch(pb.FetchBlobRequest(sha256=ref.sha256, offset=2**63)),
        ],
        grpc.StatusCode.NOT_FOUND: [
            lambda: fetch(pb.FetchBlobRequest(sha256="0" * 64)),
            lambda: stub.GetManifest(pb.GetManifestRequest(release_id="r-unknown")),
            lambda: stub.GetPrior(pb.GetPriorRequest(layout="global")),
        ],
        grpc.StatusCode.INVALID_ARGUMENT: [
            lambda: fetch(pb.FetchBlobRequest(sha256="../../../../etc/passwd")),
            lambda: fetch(pb.FetchBlobRequest(sha256=ref.sha256.upper())),
            lambda: stub.GetManifest(pb.GetManifestRequest(release_id="../store")),
            lambda: stub.GetManifest(pb.GetManifestRequest(release_id="..")),
            lambda: stub.GetManifest(pb.GetManifestRequest(release_id="current")),
            lambda: stub.GetPrior(pb.GetPriorRequest(release_id="/etc", layout="global")),
            lambda: stub.GetPrior(pb.GetPriorRequest(layout="../../x")),
        ],
    }
    for code, calls in cases.items():
        assert [code_of(call) for call in calls] == [code] * len(calls)


def test_publish_needs_the_writer_credential(
    stub: pb_grpc.ReleaseServiceStub, small_release: Path
) -> None:
    request = pb.PublishReleaseRequest(
        manifest=(small_release / "manifest.json").read_bytes(),
        signature=(small_release / "manifest.sig").read_bytes(),
    )
    wrong = (("authorization", "Bearer not-the-token-at-all"),)
    assert code_of(lambda: stub.PublishRelease(request)) == grpc.StatusCode.UNAUTHENTICATED
    assert code_of(lambda: stub.PublishRelease(request, metadata=wrong)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    upload = iter([pb.BlobUpload(sha256="0" * 64, size=1, data=b"x")])
    assert code_of(lambda: stub.UploadBlob(upload, metadata=wrong)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    right = (("authorization", "Bearer " + TOKEN.decode()),)
    assert stub.PublishRelease(request, metadata=right).published
    tampered = pb.PublishReleaseRequest(
        manifest=request.manifest + b" ", signature=request.signature
    )
    assert code_of(lambda: stub.PublishRelease(tampered, metadata=right)) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


def test_a_server_without_a_token_takes_no_publish(
    store: ReleaseStore, small_release: Path
) -> None:
    running = create_server(store)
    try:
        with pytest.raises(ReleaseError, match="PERMISSION_DENIED: this server takes no publish"):
            publish_over_wire(small_release, f"127.0.0.1:{running.port}", TOKEN)
    finally:
        running.stop(0)


def test_publish_over_the_wire_sends_only_missing_blobs(
    server: RunningServer,
    store: ReleaseStore,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    from tastevec.common.signing import load_private_key
    from tastevec.simulations.benchmarks.synthetic_release import add_task_vector

    base = verify_release(small_release, load_public_key(service_key[1]))
    new = add_task_vector(
        small_release,
        base,
        tmp_path / "r2",
        load_private_key(service_key[0]),
        source="ava",
        size=200_000,
        created="2026-12-05T00:00:00Z",
    )
    before = {p.name for p in (store.root / "blobs").iterdir()}
    outcome = publish_over_wire(tmp_path / "r2", f"127.0.0.1:{server.port}", TOKEN)
    assert outcome.published and outcome.current and outcome.release_id == new.release_id
    after = {p.name for p in (store.root / "blobs").iterdir()}
    assert after - before == {new.task_vector("ava").blob.sha256}
    assert store.current_release_id() == new.release_id


def test_an_oversized_message_is_refused(stub: pb_grpc.ReleaseServiceStub) -> None:
    huge = pb.PublishReleaseRequest(manifest=b"x" * (9 * 2**20))
    right = (("authorization", "Bearer " + TOKEN.decode()),)
    assert code_of(lambda: stub.PublishRelease(huge, metadata=right)) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED
    )


def test_stock_health_and_reflection_clients(server: RunningServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE_NAME):
            answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
        assert "tastevec.release.v1.ReleaseService" in services
        assert "grpc.health.v1.Health" in services


def test_tls_with_a_test_ca(store: ReleaseStore, test_tls: tuple[Path, Path, Path]) -> None:
    ca, cert, key = test_tls
    running = create_server(store, tls=TlsFiles(cert, key))
    try:
        credentials = grpc.ssl_channel_credentials(ca.read_bytes())
        with grpc.secure_channel(f"localhost:{running.port}", credentials) as channel:
            stub = pb_grpc.ReleaseServiceStub(channel)
            assert stub.GetCurrentRelease(pb.GetCurrentReleaseRequest(), timeout=10).release_id
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as plain:
            stub = pb_grpc.ReleaseServiceStub(plain)
            call = lambda: stub.GetCurrentRelease(pb.GetCurrentReleaseRequest(), timeout=5)  # noqa: E731
            assert code_of(call) == grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop(0)


def test_serve_stops_cleanly_on_sigterm(store: ReleaseStore, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_bytes(TOKEN + b"\n")
    token.chmod(0o600)
    command = [
        sys.executable,
        "-m",
        "tastevec.server",
        "-v",
        "serve",
        "--store",
        str(store.root),
        "--port",
        "0",
        "--writer-token-file",
        str(token),
        "--grace",
        "2",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving "), line + process.stderr.read()
        port = int(line.split(":")[-1].split()[0])
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ReleaseServiceStub(channel)
            stub.ListReleases(pb.ListReleasesRequest(), timeout=10)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert out.strip() == "stopped"
        logged = [line for line in err.splitlines() if "ListReleases" in line]
        assert len(logged) == 1 and " OK " in logged[0]  # one line per request
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_blob_digest_is_what_the_server_streams(
    stub: pb_grpc.ReleaseServiceStub, small_release: Path, service_key: tuple[Path, Path]
) -> None:
    manifest = verify_release(small_release, load_public_key(service_key[1]))
    for ref in manifest.blobs():
        data = b"".join(c.data for c in stub.FetchBlob(pb.FetchBlobRequest(sha256=ref.sha256)))
        assert hashlib.sha256(data).hexdigest() == ref.sha256


def test_a_new_prior_is_published_as_a_small_delta_and_served(
    stub: pb_grpc.ReleaseServiceStub,
    store: ReleaseStore,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    from tastevec.common.signing import load_private_key
    from tastevec.simulations.benchmarks.synthetic_release import add_prior, add_task_vector

    key = load_private_key(service_key[0])
    base = verify_release(small_release, load_public_key(service_key[1]))
    prior = b"mean-and-variance" * 20
    new = add_prior(
        small_release, base, tmp_path / "r2", key, prior=prior, created="2026-12-06T00:00:00Z"
    )
    right = (("authorization", "Bearer " + TOKEN.decode()),)
    request = pb.PublishPriorRequest(
        base_release_id=base.release_id,
        manifest=(tmp_path / "r2" / "manifest.json").read_bytes(),
        signature=(tmp_path / "r2" / "manifest.sig").read_bytes(),
        prior=prior,
    )
    assert code_of(lambda: stub.PublishPrior(request)) == grpc.StatusCode.UNAUTHENTICATED
    before = {p.name for p in (store.root / "blobs").iterdir()}
    outcome = stub.PublishPrior(request, metadata=right)
    assert outcome.published and outcome.current and outcome.release_id == new.release_id
    after = {p.name for p in (store.root / "blobs").iterdir()}
    assert after - before == {hashlib.sha256(prior).hexdigest()}
    answer = stub.GetPrior(pb.GetPriorRequest(layout="global"))
    assert answer.release_id == new.release_id
    assert (answer.prior.sha256, answer.prior.size, answer.prior.people) == (
        hashlib.sha256(prior).hexdigest(),
        len(prior),
        20,
    )
    # a "prior" publication that also changes a task vector is refused
    other = add_task_vector(
        tmp_path / "r2",
        new,
        tmp_path / "r3",
        key,
        source="ava",
        size=10,
        created="2026-12-07T00:00:00Z",
    )
    sneaky = pb.PublishPriorRequest(
        base_release_id=new.release_id,
        manifest=(tmp_path / "r3" / "manifest.json").read_bytes(),
        signature=(tmp_path / "r3" / "manifest.sig").read_bytes(),
        prior=prior,
    )
    assert code_of(lambda: stub.PublishPrior(sneaky, metadata=right)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    assert store.current_release_id() == new.release_id != other.release_id


def test_the_publish_command_on_disk_and_over_the_wire(
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tastevec.server.cli import main as server_main

    store = tmp_path / "store"
    args = ["publish", str(small_release), "--store", str(store)]
    assert server_main(args) == 2  # a new store needs --trust
    assert "--trust KEY.pub" in capsys.readouterr().err
    assert server_main([*args, "--trust", str(service_key[1])]) == 0
    assert "published (now current)" in capsys.readouterr().out
    running = create_server(ReleaseStore.open(store), writer_token=TOKEN)
    try:
        wire = ["publish", str(small_release), "--server", f"127.0.0.1:{running.port}"]
        assert server_main(wire) == 2
        assert "needs --token-file" in capsys.readouterr().err
        token = tmp_path / "token"
        token.write_bytes(TOKEN)
        token.chmod(0o644)
        assert server_main([*wire, "--token-file", str(token)]) == 2
        assert "readable by others" in capsys.readouterr().err
        token.chmod(0o600)
        assert server_main([*wire, "--token-file", str(token)]) == 0
        assert "published" in capsys.readouterr().out
        token.write_bytes(b"another-token-of-enough-length")
        assert server_main([*wire, "--token-file", str(token)]) == 2
        assert "PERMISSION_DENIED" in capsys.readouterr().err
    finally:
        running.stop(0)
    plain = ["serve", "--store", str(store), "--host", "0.0.0.0", "--writer-token-file", str(token)]
    assert server_main(plain) == 2  # a token over plaintext off loopback
    assert "travel in the clear" in capsys.readouterr().err


def test_the_publish_command_sends_a_new_prior_as_its_blob_alone(
    server: RunningServer,
    store: ReleaseStore,
    small_release: Path,
    service_key: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A new prior needs no command of its own: `publish RELEASE_DIR --server` on a release
    that differs only by its prior uploads the prior's blob and nothing else."""
    from tastevec.common.signing import load_private_key
    from tastevec.server.cli import main as server_main
    from tastevec.simulations.benchmarks.synthetic_release import add_prior

    base = verify_release(small_release, load_public_key(service_key[1]))
    prior = b"a-new-population-prior" * 30
    new = add_prior(
        small_release,
        base,
        tmp_path / "r2",
        load_private_key(service_key[0]),
        prior=prior,
        created="2026-12-06T00:00:00Z",
    )
    token = tmp_path / "token"
    token.write_bytes(TOKEN)
    token.chmod(0o600)
    before = {p.name for p in (store.root / "blobs").iterdir()}
    wire = ["publish", str(tmp_path / "r2"), "--server", f"127.0.0.1:{server.port}"]
    assert server_main([*wire, "--token-file", str(token)]) == 0
    assert f"release {new.release_id} published (now current)" in capsys.readouterr().out
    after = {p.name for p in (store.root / "blobs").iterdir()}
    assert after - before == {hashlib.sha256(prior).hexdigest()}
    answer = store.prior(None, "global")
    assert (answer.release_id, answer.blob.sha256) == (
        new.release_id,
        hashlib.sha256(prior).hexdigest(),
    )
