"""Task vector encodings: sizes, exactness where promised, and malformed files refused."""

import pytest
import torch

from tastevec.common.errors import TaskVectorError
from tastevec.common.task_vector import TaskVector
from tastevec.common.task_vector_encoding import (
    SUFFIX_INDICES,
    SUFFIX_SCALE,
    decode_tensors,
    encode_tensors,
    parse_encoding,
)


def vector() -> TaskVector:
    generator = torch.Generator().manual_seed(0)
    deltas = {
        "backbone.conv.weight": torch.randn(16, 3, 3, 3, generator=generator) * 1e-3,
        "head.fc.weight": torch.randn(10, 32, generator=generator) * 1e-2,
        "head.fc.bias": torch.zeros(10),
    }
    return TaskVector(deltas, source="db", base_digest="b" * 64)


@pytest.mark.parametrize("encoding", ["float32", "float16", "int8", "topk-20", "topk-5"])
def test_round_trip_keeps_names_shapes_source_and_base(encoding: str) -> None:
    original = vector()
    back = TaskVector.from_bytes(original.to_bytes(encoding))
    assert back.deltas.keys() == original.deltas.keys()
    assert all(back.deltas[k].shape == v.shape for k, v in original.deltas.items())
    assert (back.source, back.base_digest) == ("db", "b" * 64)


def test_float32_is_exact_and_float16_is_close() -> None:
    original = vector()
    exact = TaskVector.from_bytes(original.to_bytes("float32"))
    assert all(torch.equal(exact.deltas[k], v) for k, v in original.deltas.items())
    half = TaskVector.from_bytes(original.to_bytes("float16"))
    for name, delta in original.deltas.items():
        assert torch.allclose(half.deltas[name].float(), delta, rtol=1e-3, atol=1e-7)


def test_int8_error_is_at_most_half_a_step_and_zero_stays_zero() -> None:
    original = vector()
    back = TaskVector.from_bytes(original.to_bytes("int8"))
    for name, delta in original.deltas.items():
        step = float(delta.abs().max()) / 127
        assert float((back.deltas[name] - delta).abs().max()) <= step / 2 + 1e-9
    assert torch.count_nonzero(back.deltas["head.fc.bias"]) == 0


def test_topk_keeps_exactly_the_largest_magnitudes_of_each_tensor() -> None:
    original = vector()
    back = TaskVector.from_bytes(original.to_bytes("topk-20"))
    delta = original.deltas["head.fc.weight"].reshape(-1)
    kept = back.deltas["head.fc.weight"].reshape(-1)
    count = 64  # ceil(0.2 * 320)
    assert torch.count_nonzero(kept) == count
    threshold = delta.abs().sort(descending=True).values[count - 1]
    assert torch.all((kept != 0) == (delta.abs() >= threshold))
    assert torch.allclose(kept[kept != 0], delta[kept != 0], rtol=1e-3)


def test_smaller_encodings_are_smaller() -> None:
    sizes = {e: len(vector().to_bytes(e)) for e in ("float32", "float16", "int8", "topk-5")}
    assert sizes["float32"] > sizes["float16"] > sizes["int8"] > sizes["topk-5"]


@pytest.mark.parametrize("bad", ["float64", "int4", "topk-0", "topk-100", "topk-x", ""])
def test_unknown_encodings_are_refused(bad: str) -> None:
    with pytest.raises(TaskVectorError, match="encoding"):
        parse_encoding(bad)


def test_malformed_encoded_tensors_are_refused_with_the_origin() -> None:
    tensors = encode_tensors(vector().deltas, "int8")
    del tensors["head.fc.weight" + SUFFIX_SCALE]
    with pytest.raises(TaskVectorError, match=r"db\.safetensors: malformed int8"):
        decode_tensors(tensors, "int8", origin="db.safetensors")
    sparse = encode_tensors(vector().deltas, "topk-20")
    sparse["head.fc.bias" + SUFFIX_INDICES] = torch.tensor([99], dtype=torch.int32)
    with pytest.raises(TaskVectorError, match="outside its shape"):
        decode_tensors(sparse, "topk-20", origin="x")
