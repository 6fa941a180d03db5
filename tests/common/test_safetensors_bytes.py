"""Canonical safetensors: the same tensors give the same bytes, which load back unchanged."""

import hashlib
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load

from tastevec.common.safetensors_bytes import save_canonical


def tensors() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    mixed = {f"layer{i}.weight": torch.randn(3, i + 1, generator=generator) for i in range(24)}
    return {**mixed, "half": torch.ones(5, dtype=torch.float16), "count": torch.tensor([7])}


def test_repeated_saves_give_identical_bytes() -> None:
    metadata = {"format": "x", "source": "koniq10k", "base_digest": "b" * 64, "z": "1"}
    digests = {hashlib.sha256(save_canonical(tensors(), metadata)).hexdigest() for _ in range(30)}
    assert len(digests) == 1


def test_canonical_bytes_load_back_with_their_metadata(tmp_path: Path) -> None:
    data = save_canonical(tensors(), {"format": "x", "source": "s"})
    back = load(data)
    assert all(torch.equal(back[k], v) for k, v in tensors().items())
    path = tmp_path / "t.safetensors"
    path.write_bytes(data)
    with safe_open(str(path), framework="pt") as handle:
        assert handle.metadata() == {"format": "x", "source": "s"}
