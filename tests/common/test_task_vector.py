import math
from pathlib import Path

import pytest
import torch

from tastevec.common.digests import state_dict_digest
from tastevec.common.errors import TaskVectorError
from tastevec.common.task_vector import TaskVector


def _state(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "layer.weight": torch.randn(4, 3, generator=generator),
        "layer.bias": torch.randn(4, generator=generator),
        "bn.running_mean": torch.randn(4, generator=generator),
        "bn.num_batches_tracked": torch.tensor(seed, dtype=torch.long),
    }


BASE = _state(0)


def _vector(seed: int, source: str = "") -> TaskVector:
    return TaskVector.from_state_dicts(BASE, _state(seed), source=source or f"db{seed}")


def test_deltas_are_finetuned_minus_base_and_skip_integer_buffers() -> None:
    tuned = _state(1)
    vector = TaskVector.from_state_dicts(BASE, tuned, source="koniq")
    assert set(vector.deltas) == {"layer.weight", "layer.bias", "bn.running_mean"}
    assert torch.equal(vector.deltas["layer.bias"], tuned["layer.bias"] - BASE["layer.bias"])
    assert vector.base_digest == state_dict_digest(BASE)
    assert vector.num_parameters == 12 + 4 + 4


def test_algebra() -> None:
    a, b, c = _vector(1), _vector(2), _vector(3)
    for key in a.deltas:
        assert torch.allclose((a + b).deltas[key], a.deltas[key] + b.deltas[key])
        assert torch.allclose((a - b).deltas[key], a.deltas[key] - b.deltas[key])
        assert torch.allclose((-a).deltas[key], -a.deltas[key])
        assert torch.allclose((0.5 * a).deltas[key], a.deltas[key] * 0.5)
        assert torch.allclose((a * 2).deltas[key], a.deltas[key] * 2)
        total = a.deltas[key] + b.deltas[key] + c.deltas[key]
        assert torch.allclose(TaskVector.sum([a, b, c]).deltas[key], total)
        assert torch.allclose(sum([a, b, c]).deltas[key], total)  # type: ignore[union-attr]


def test_norm_and_cosine_similarity_against_flattened_vectors() -> None:
    a, b = _vector(1), _vector(2)
    flat_a = torch.cat([t.flatten() for t in a.deltas.values()]).double()
    flat_b = torch.cat([t.flatten() for t in b.deltas.values()]).double()
    assert a.norm() == pytest.approx(float(flat_a.norm()), rel=1e-9)
    expected = float(flat_a @ flat_b / (flat_a.norm() * flat_b.norm()))
    assert a.cosine_similarity(b) == pytest.approx(expected, rel=1e-9)
    assert a.cosine_similarity(a) == pytest.approx(1.0)
    assert a.cosine_similarity(-a) == pytest.approx(-1.0)
    with pytest.raises(TaskVectorError, match="a vector is zero"):
        a.cosine_similarity(a * 0.0)


def test_apply_to_recovers_the_finetuned_weights() -> None:
    tuned = _state(5)
    merged = _vector(5).apply_to(BASE)
    for key in ("layer.weight", "layer.bias", "bn.running_mean"):
        assert torch.allclose(merged[key], tuned[key], atol=1e-6)
    assert torch.equal(merged["bn.num_batches_tracked"], BASE["bn.num_batches_tracked"])
    half = _vector(5).apply_to(BASE, scale=0.5)
    assert torch.allclose(half["layer.bias"], (BASE["layer.bias"] + tuned["layer.bias"]) / 2)


def test_mismatched_keys_shapes_dtypes_and_bases_raise() -> None:
    a = _vector(1)
    fewer = TaskVector({"layer.weight": torch.zeros(4, 3)}, source="small")
    with pytest.raises(TaskVectorError, match="different keys"):
        a + fewer
    reshaped = TaskVector({k: v.reshape(-1) for k, v in a.deltas.items()}, source="flat")
    with pytest.raises(TaskVectorError, match="shape"):
        a + reshaped
    with pytest.raises(TaskVectorError, match="dtype torch.float16"):
        a + a.to(torch.float16)
    other_base = TaskVector.from_state_dicts(_state(7), _state(8), source="elsewhere")
    with pytest.raises(TaskVectorError, match="different base weights"):
        a + other_base
    with pytest.raises(TaskVectorError, match="other base weights"):
        other_base.apply_to(BASE)
    with pytest.raises(TaskVectorError, match="differ from the base in keys"):
        TaskVector.from_state_dicts(BASE, {"layer.weight": BASE["layer.weight"]})
    with pytest.raises(TaskVectorError, match="finite"):
        a * math.nan
    with pytest.raises(TaskVectorError, match="empty list"):
        TaskVector.sum([])


def test_integer_tensors_are_refused() -> None:
    with pytest.raises(TaskVectorError, match="non-float dtype"):
        TaskVector({"steps": torch.tensor([1, 2])}, source="bad")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_save_and_load_round_trip(tmp_path: Path, dtype: torch.dtype) -> None:
    vector = _vector(1, "FLICKR-AES").to(dtype)
    path = tmp_path / "tv.safetensors"
    vector.save(path)
    loaded = TaskVector.load(path)
    assert loaded.source == "FLICKR-AES"
    assert loaded.base_digest == vector.base_digest
    for key, tensor in vector.deltas.items():
        assert loaded.deltas[key].dtype == dtype
        assert torch.equal(loaded.deltas[key], tensor)
    assert [p.name for p in tmp_path.iterdir()] == ["tv.safetensors"]  # no temp files left


def test_fp16_storage_halves_the_size_and_keeps_the_direction() -> None:
    vector = _vector(1)
    half = vector.to(torch.float16)
    assert half.nbytes * 2 == vector.nbytes
    assert half.to(torch.float32).cosine_similarity(vector) > 0.9999
    with pytest.raises(TaskVectorError, match="float32 or float16"):
        vector.to(torch.bfloat16)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(TaskVectorError, match="task vector not found: .*absent"):
        TaskVector.load(tmp_path / "absent.safetensors")
    (tmp_path / "zero.safetensors").symlink_to("/dev/zero")
    with pytest.raises(TaskVectorError, match="zero.safetensors is a device"):
        TaskVector.load(tmp_path / "zero.safetensors")
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(TaskVectorError, match="garbage.safetensors: not a readable"):
        TaskVector.load(garbage)
    path = tmp_path / "tv.safetensors"
    _vector(1).save(path)
    data = bytearray(path.read_bytes())
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(TaskVectorError, match="truncated.safetensors"):
        TaskVector.load(truncated)


def test_plain_safetensors_without_our_metadata_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"layer.weight": torch.zeros(2)}, str(path))
    with pytest.raises(TaskVectorError, match="not a tastevec task vector"):
        TaskVector.load(path)
