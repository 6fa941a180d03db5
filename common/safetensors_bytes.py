"""Safetensors bytes that are the same for the same tensors, every time.

safetensors writes its JSON header from hash maps, so two saves of the same tensors can order
the header differently, and content addressing (sha256 of the bytes) would see two blobs.
Here the header is rewritten with sorted keys and the same padding; tensor data is untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import torch
from safetensors.torch import save

_HEADER_LENGTH = 8


def save_canonical(tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> bytes:
    data = save(dict(tensors), metadata=dict(metadata))
    length = int.from_bytes(data[:_HEADER_LENGTH], "little")
    header = json.loads(data[_HEADER_LENGTH : _HEADER_LENGTH + length])
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(canonical) > length:  # never expected: the same JSON with compact separators
        raise ValueError("canonical safetensors header is longer than the original")
    padded = canonical + b" " * (length - len(canonical))
    return data[:_HEADER_LENGTH] + padded + data[_HEADER_LENGTH + length :]


def read_metadata(data: bytes) -> dict[str, str]:
    """The `__metadata__` block of safetensors bytes' header."""
    if len(data) < _HEADER_LENGTH:
        raise ValueError("file shorter than a safetensors header")
    length = int.from_bytes(data[:_HEADER_LENGTH], "little")
    header = json.loads(data[_HEADER_LENGTH : _HEADER_LENGTH + length])
    metadata = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in metadata.items()}
