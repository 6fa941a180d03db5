"""Content digests (sha256) of bytes, files and state dicts."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # torch loads only for state dicts, not to hash a file
    import torch

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return sha256_handle(handle)


def sha256_handle(handle: BinaryIO, *, limit: int | None = None) -> str:
    """sha256 of what `handle` holds from where it stands, reading at most `limit` bytes."""
    digest = hashlib.sha256()
    left = limit
    while chunk := handle.read(_CHUNK if left is None else min(_CHUNK, left)):
        digest.update(chunk)
        if left is not None:
            left -= len(chunk)
            if left == 0:
                break
    return digest.hexdigest()


def state_dict_digest(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in sorted name order.

    Identifies a model's weights independently of file format, device and key order.
    """
    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
