"""The secrets a deployment needs beside the release key, made by one command each
(`tastevec-server tls`, `node-key`, `writer-token`) instead of a hand-written recipe.

- TLS: a private certificate authority (`ca.pem`, `ca.key`) and a server certificate it
  signs (`server.pem`, `server.key`) for the names and addresses the server is reached by.
  The release service (`serve --tls-cert --tls-key`), the Flower SuperLink
  (`--ssl-ca-certfile --ssl-certfile --ssl-keyfile`) and every client (`--tls-ca`,
  `--root-certificates`) use these files. An existing CA in the folder is reused, so a
  server certificate is renewed without touching the devices' trust.
- A SuperNode's authentication key: an EC P-384 key pair in OpenSSH format, the format
  `flower-supernode --auth-supernode-private-key` and `flwr supernode register` read.
- The release service's writer token: 32 random bytes, URL-safe base64, one line.

Private keys and the token are created 0600 and never overwrite an existing file.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tastevec.common.errors import KeyFileError
from tastevec.common.os_inputs import read_regular_file
from tastevec.server.keys import PRIVATE_MODE, PUBLIC_MODE, create_new_file, public_key_path

CA_CERT, CA_KEY = "ca.pem", "ca.key"
SERVER_CERT, SERVER_KEY = "server.pem", "server.key"
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
_PEM_LIMIT = 64 * 2**10


@dataclass(frozen=True, slots=True)
class TlsFolder:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    ca_reused: bool


def write_tls_credentials(out: Path, hosts: Sequence[str], *, days: int = 365) -> TlsFolder:
    """A CA (made once, reused when `out` holds one) and a new server certificate for
    `hosts` (DNS names or IP addresses), valid for `days`."""
    if not hosts:
        raise KeyFileError("a server certificate needs at least one host name or address")
    names = [_subject_name(host) for host in hosts]
    if (out / SERVER_CERT).exists() or (out / SERVER_KEY).exists():
        raise KeyFileError(
            f"{out} already holds {SERVER_CERT} / {SERVER_KEY}; move them away to renew"
        )
    reused = (out / CA_CERT).exists() or (out / CA_KEY).exists()
    if reused:
        ca_cert, ca_key = _load_authority(out)
    else:
        ca_key = ec.generate_private_key(ec.SECP384R1())
        ca_cert = _certificate(
            _name("tastevec deployment CA"), ca_key.public_key(), ca_key, None, CA_DAYS
        )
        create_new_file(out / CA_KEY, _private_pem(ca_key), PRIVATE_MODE)
        create_new_file(
            out / CA_CERT, ca_cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE
        )
    server_key = ec.generate_private_key(ec.SECP384R1())
    server_cert = _certificate(
        _name(hosts[0]), server_key.public_key(), ca_key, (ca_cert, names), days
    )
    create_new_file(out / SERVER_KEY, _private_pem(server_key), PRIVATE_MODE)
    create_new_file(
        out / SERVER_CERT, server_cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE
    )
    return TlsFolder(out / CA_CERT, out / SERVER_CERT, out / SERVER_KEY, reused)


def write_node_key(private_path: Path) -> tuple[Path, Path]:
    """A SuperNode's EC P-384 key pair: `private_path` (OpenSSH, 0600) and `.pub` beside it."""
    key = ec.generate_private_key(ec.SECP384R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    public_path = public_key_path(private_path)
    if public_path.exists():
        raise KeyFileError(f"key file {public_path} already exists; refusing to overwrite it")
    create_new_file(private_path, private, PRIVATE_MODE)
    create_new_file(public_path, public + b"\n", PUBLIC_MODE)
    return private_path, public_path


def write_writer_token(path: Path) -> Path:
    """A new writer token for the release service, one line in a 0600 file."""
    create_new_file(path, (secrets.token_urlsafe(32) + "\n").encode(), PRIVATE_MODE)
    return path


def _subject_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_dns_label(label) for label in labels):
        raise KeyFileError(f"{host!r} is neither an IP address nor a DNS name")
    return x509.DNSName(host)


def _dns_label(label: str) -> bool:
    return 0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, list[x509.GeneralName]] | None,
    days: int,
) -> x509.Certificate:
    """A CA certificate (`issuer` None: self-signed) or a server certificate for the names
    in `issuer`, signed by its CA."""
    if days < 1:
        raise KeyFileError(f"a certificate must be valid for at least a day, not {days}")
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer[0].subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
        builder = builder.add_extension(x509.SubjectAlternativeName(issuer[1]), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    builder = builder.add_extension(usage, critical=True)
    return builder.sign(signing_key, hashes.SHA384())


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_authority(out: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = out / CA_CERT, out / CA_KEY
    for path in (cert_path, key_path):
        if not path.exists():
            raise KeyFileError(f"{out} holds half a CA: {path.name} is missing")
    cert_data = read_regular_file(
        cert_path, limit=_PEM_LIMIT, what="CA certificate", error=KeyFileError
    )
    key_data = read_regular_file(key_path, limit=_PEM_LIMIT, what="CA key", error=KeyFileError)
    try:
        cert = x509.load_pem_x509_certificate(cert_data)
        key = serialization.load_pem_private_key(key_data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{out}: the CA files cannot be read ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise KeyFileError(f"{out}: {CA_KEY} is not the key of {CA_CERT}")
    return cert, key
