"""A deployment's secrets from `tastevec-server tls | node-key | writer-token`: a CA and a
server certificate a real gRPC client accepts over TLS, a SuperNode key Flower's own loaders
accept, a writer token the release service reads; private files 0600, nothing overwritten."""

import stat
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tastevec.server.cli import main
from tastevec.server.release_server import read_writer_token


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_tls_makes_a_ca_and_a_server_certificate_a_grpc_client_trusts(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    assert main(["tls", "--out", str(out)]) == 0
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert _mode(out / "ca.key") == _mode(out / "server.key") == 0o600

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    pair = ((out / "server.key").read_bytes(), (out / "server.pem").read_bytes())
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([pair]))
    server.start()
    try:
        for host in ("localhost", "127.0.0.1"):
            trust = grpc.ssl_channel_credentials((out / "ca.pem").read_bytes())
            with grpc.secure_channel(f"{host}:{port}", trust) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
        other = tmp_path / "other"
        assert main(["tls", "--out", str(other)]) == 0  # another CA is not trusted
        trust = grpc.ssl_channel_credentials((other / "ca.pem").read_bytes())
        with grpc.secure_channel(f"localhost:{port}", trust) as channel:
            with pytest.raises(grpc.RpcError) as refused:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=30
                )
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(grace=None)


def test_a_renewed_server_certificate_keeps_the_ca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tls"
    assert main(["tls", "--out", str(out), "--host", "releases.example.org"]) == 0
    ca = (out / "ca.pem").read_bytes()
    first = (out / "server.pem").read_bytes()
    assert main(["tls", "--out", str(out)]) == 2  # never overwrites the server's files
    assert "already holds server.pem" in capsys.readouterr().err
    (out / "server.pem").rename(out / "old.pem")
    (out / "server.key").rename(out / "old.key")
    assert main(["tls", "--out", str(out), "--host", "10.0.0.7"]) == 0
    assert "CA (reused)" in capsys.readouterr().out
    assert (out / "ca.pem").read_bytes() == ca and (out / "server.pem").read_bytes() != first
    renewed = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    renewed.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))


@pytest.mark.parametrize("host", ["", "bad host", "a..b", "x" * 64 + ".org"])
def test_a_host_that_is_no_name_or_address_is_a_one_line_error(
    tmp_path: Path, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tls", "--out", str(tmp_path / "tls"), "--host", host]) == 2
    err = capsys.readouterr().err.strip()
    assert "neither an IP address nor a DNS name" in err and "\n" not in err
    assert not (tmp_path / "tls" / "ca.key").exists()


def test_a_node_key_is_what_flower_reads(tmp_path: Path) -> None:
    from flwr.cli.supernode.register import try_load_public_key

    key = tmp_path / "nodes" / "device-1"
    assert main(["node-key", "--out", str(key)]) == 0
    private = load_ssh_private_key(key.read_bytes(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(private.curve, ec.SECP384R1)
    assert try_load_public_key(key.with_name("device-1.pub"))  # flwr supernode register's loader
    assert _mode(key) == 0o600
    assert main(["node-key", "--out", str(key)]) == 2  # never overwritten


def test_a_writer_token_is_private_and_what_the_service_reads(tmp_path: Path) -> None:
    path = tmp_path / "writer.token"
    assert main(["writer-token", "--out", str(path)]) == 0
    assert _mode(path) == 0o600
    assert len(read_writer_token(path)) >= 40
    assert main(["writer-token", "--out", str(path)]) == 2
