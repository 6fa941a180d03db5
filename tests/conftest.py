"""Test-wide environment: nothing downloads, nothing phones home. And a real release, shared:
the small photo world, forged briefly at 64 px.

Set before any test module imports huggingface_hub or flwr, which read these at import.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
os.environ.setdefault("FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION", "1")


import csv
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tastevec.client.cli import main as client_main
from tastevec.common.datasets.catalog import load_people_ratings
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key
from tastevec.server.cli import main as server_main
from tastevec.simulations.cli import main as sim_main


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    assert sim_main(["world", "--out", str(out), "--size", "small"]) == 0
    return out


RatingsCsv = Callable[[int, Path], Path]


@pytest.fixture(scope="session")
def ratings_csv(world: Path) -> RatingsCsv:
    """ratings_csv(index, path): the small world's test person `index` (its REAL-CUR-like
    albums, then its PARA-like users) as the CSV `tastevec-client rate --csv` reads."""
    persons = (
        *load_people_ratings("real_cur", world / "databases" / "real_cur").split("test"),
        *load_people_ratings("para", world / "databases" / "para").split("test"),
    )

    def write(index: int, path: Path) -> Path:
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "score"])
            for item in persons[index].ratings:
                writer.writerow([item.path, item.raw])
        return path

    return write


@pytest.fixture(scope="session")
def release_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "release-key"
    assert server_main(["keygen", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="session")
def trust(release_key: Path) -> Path:
    return release_key.with_name(release_key.name + ".pub")


# A release of the small world forged at 64 px, batch 8, in a folder, with the given
# `[training]` lines (e.g. its steps).
ForgeBriefly = Callable[[Path, str], Path]


@pytest.fixture(scope="session")
def forge_briefly(world: Path, release_key: Path) -> ForgeBriefly:
    def forge(folder: Path, training: str) -> Path:
        config = folder / "forge.toml"
        config.write_text(
            f'world = "{world}"\n[training]\n{training}batch_size = 8\nimage_size = 64\n'
            "checkpoint_every = 100\n"
        )
        out = folder / "release"
        args = ["forge", "--config", str(config), "--out", str(out), "--key", str(release_key)]
        assert server_main([*args, "--no-progress"]) == 0
        return out

    return forge


@pytest.fixture(scope="session")
def release(forge_briefly: ForgeBriefly, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return forge_briefly(tmp_path_factory.mktemp("forge"), "steps = 4\n")


# The federation's tests and simulations: simulated people, each with a home of their own.
MakePeople = Callable[[str, int, tuple[int, ...]], tuple[Path, Path, str]]


@pytest.fixture
def make_people(ratings_csv: RatingsCsv, release: Path, trust: Path, tmp_path: Path) -> MakePeople:
    """make_people(name, people, sharing) -> (releases folder, homes folder, release id): under
    tmp_path / name, a releases folder holding the release and homes person-0 .. people-1,
    each with the release installed and a test person's ratings, those in `sharing` sharing."""
    manifest = verify_release(release, load_public_key(trust))

    def make(name: str, people: int, sharing: tuple[int, ...]) -> tuple[Path, Path, str]:
        folder = tmp_path / name
        folder.mkdir()
        releases = folder / "releases"
        shutil.copytree(release, releases / manifest.release_id)
        homes = folder / "homes"
        for index in range(people):
            home = homes / f"person-{index}"
            ratings = ratings_csv(index, folder / f"ratings-{index}.csv")
            args = ["--home", str(home)]
            pull = ["pull", *args, "--from-dir", str(release), "--trust", str(trust)]
            assert client_main(pull) == 0
            assert client_main(["rate", *args, "--csv", str(ratings), "--scale", "1-5"]) == 0
            if index in sharing:
                assert client_main(["share", "on", *args]) == 0
        return releases, homes, manifest.release_id

    return make


# The release service's tests: a signing key and small signed releases of random bytes.
@pytest.fixture(scope="session")
def service_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(private key file, public key file) for synthetic releases."""
    from tastevec.server.keys import generate_key_pair

    return generate_key_pair(tmp_path_factory.mktemp("service-keys") / "key")


@pytest.fixture(scope="session")
def small_release(service_key: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signed release of ~0.4 MB: backbone, head and two task vectors."""
    from tastevec.common.signing import load_private_key
    from tastevec.simulations.benchmarks.synthetic_release import build_release

    out = tmp_path_factory.mktemp("small-release") / "r1"
    sizes = {"koniq": 100_000, "spaq": 70_001}
    build_release(
        out, load_private_key(service_key[0]), backbone_bytes=250_000, task_vector_bytes=sizes
    )
    return out


@pytest.fixture(scope="session")
def test_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key): a CA made here and a certificate
    it signs for localhost and 127.0.0.1."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tastevec test CA")])
    ca_cert = certificate("tastevec test CA", ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate("localhost", key, ca_name, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"
