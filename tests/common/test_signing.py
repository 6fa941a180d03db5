import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tastevec.common.errors import KeyFileError, ReleaseError
from tastevec.common.signing import (
    generate_private_key,
    load_private_key,
    load_public_key,
    private_key_bytes,
    public_key_bytes,
    public_key_fingerprint,
    sign,
    verify_signature,
)


def write_key(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def test_a_signature_verifies_over_exactly_the_signed_bytes() -> None:
    key = generate_private_key()
    signature = sign(key, b"manifest bytes")
    assert len(signature) == 64
    verify_signature(key.public_key(), b"manifest bytes", signature, what="m.json")
    with pytest.raises(ReleaseError, match=r"^m\.json: signature does not verify"):
        verify_signature(key.public_key(), b"manifest bytes ", signature, what="m.json")


def test_a_signature_from_another_key_or_of_the_wrong_length_is_refused() -> None:
    key, other = generate_private_key(), generate_private_key()
    signature = sign(key, b"data")
    with pytest.raises(ReleaseError, match="does not verify with the given public key"):
        verify_signature(other.public_key(), b"data", signature, what="x")
    with pytest.raises(ReleaseError, match="it has 63 bytes"):
        verify_signature(key.public_key(), b"data", signature[:-1], what="x")
    with pytest.raises(ReleaseError, match="it has 65 bytes"):
        verify_signature(key.public_key(), b"data", signature + b"\0", what="x")


def test_keys_survive_a_trip_through_pem_files(tmp_path: Path) -> None:
    key = generate_private_key()
    assert private_key_bytes(key).startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_key_bytes(key.public_key()).startswith(b"-----BEGIN PUBLIC KEY-----")
    private = load_private_key(write_key(tmp_path / "k", private_key_bytes(key)))
    public = load_public_key(write_key(tmp_path / "k.pub", public_key_bytes(key.public_key())))
    verify_signature(public, b"data", sign(private, b"data"), what="x")
    assert public_key_fingerprint(public) == public_key_fingerprint(key.public_key())


def test_a_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = write_key(tmp_path / "k", private_key_bytes(generate_private_key()), mode=0o644)
    with pytest.raises(KeyFileError, match=r"readable by others \(mode 0644\); chmod 600 it"):
        load_private_key(path)
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match=r"mode 0640"):
        load_private_key(path)
    path.chmod(0o400)
    load_private_key(path)


def test_missing_garbage_and_rsa_private_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match=r"private key .*nope does not exist"):
        load_private_key(tmp_path / "nope")
    with pytest.raises(KeyFileError, match="is not an unencrypted PEM private key"):
        load_private_key(write_key(tmp_path / "garbage", b"-----BEGIN PRIVATE KEY-----\nxx\n"))
    pem = rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFileError, match=r"rsa is not an Ed25519 key \(it holds RSAPrivateKey\)"):
        load_private_key(write_key(tmp_path / "rsa", pem))
    fifo = tmp_path / "fifo.pub"
    os.mkfifo(fifo)  # a plain read would wait for a writer forever
    with pytest.raises(KeyFileError, match=r"public key .*fifo.pub is a FIFO"):
        load_public_key(fifo)
    with pytest.raises(KeyFileError, match="is a folder; need a regular file"):
        load_private_key(tmp_path)


def test_the_public_key_loader_refuses_private_rsa_and_garbage_files(tmp_path: Path) -> None:
    private = write_key(tmp_path / "k", private_key_bytes(generate_private_key()))
    with pytest.raises(KeyFileError, match="holds a private key; give the .pub file"):
        load_public_key(private)
    rsa_pem = (
        rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFileError, match=r"not an Ed25519 key \(it holds RSAPublicKey\)"):
        load_public_key(write_key(tmp_path / "rsa.pub", rsa_pem))
    with pytest.raises(KeyFileError, match="is not a PEM public key"):
        load_public_key(write_key(tmp_path / "junk.pub", b"not a key at all"))
    with pytest.raises(KeyFileError, match="does not exist"):
        load_public_key(tmp_path / "missing.pub")


def test_the_fingerprint_is_the_sha256_of_the_raw_public_key() -> None:
    key = generate_private_key().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert public_key_fingerprint(key) == hashlib.sha256(raw).hexdigest()
    assert public_key_fingerprint(key) != public_key_fingerprint(
        generate_private_key().public_key()
    )
