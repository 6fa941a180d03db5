"""Ed25519 signing as small pure functions: make, serialise, load, sign, verify, identify.

Private keys are PEM PKCS8 without encryption and must be readable by their owner only;
public keys are PEM SubjectPublicKeyInfo.
"""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tastevec.common.digests import sha256_bytes
from tastevec.common.errors import KeyFileError, ReleaseError
from tastevec.common.os_inputs import read_regular_file

SIGNATURE_BYTES = 64
KEY_FILE_LIMIT = 64 * 2**10  # a PEM Ed25519 key is about 120 bytes


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key that only its owner can read (mode 0600 or stricter)."""
    data = _read_key_file(path, "private")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"private key {path} is readable by others (mode {mode:04o}); chmod 600 it"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"private key {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(
            f"private key {path} is not an Ed25519 key (it holds {type(key).__name__})"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an Ed25519 public key; refuses a private key file given by mistake."""
    data = _read_key_file(path, "public")
    if b"PRIVATE KEY-----" in data:
        raise KeyFileError(f"public key {path} holds a private key; give the .pub file")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"public key {path} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(
            f"public key {path} is not an Ed25519 key (it holds {type(key).__name__})"
        )
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verify_signature(
    public_key: Ed25519PublicKey, data: bytes, signature: bytes, *, what: str
) -> None:
    """Raise ReleaseError unless `signature` is `public_key`'s signature of exactly `data`."""
    if len(signature) != SIGNATURE_BYTES:
        raise ReleaseError(
            f"{what}: signature does not verify with the given public key "
            f"(it has {len(signature)} bytes, an Ed25519 signature has {SIGNATURE_BYTES})"
        )
    try:
        public_key.verify(signature, data)
    except InvalidSignature as exc:
        raise ReleaseError(f"{what}: signature does not verify with the given public key") from exc


def public_key_fingerprint(key: Ed25519PublicKey) -> str:
    """sha256 (hex) of the raw 32-byte public key; its first 16 characters make a short id."""
    raw = key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return sha256_bytes(raw)


def _read_key_file(path: Path, kind: str) -> bytes:
    if not path.exists() and not path.is_symlink():
        raise KeyFileError(f"{kind} key {path} does not exist")
    return read_regular_file(path, limit=KEY_FILE_LIMIT, what=f"{kind} key", error=KeyFileError)
