"""How a task vector's tensors are stored: dense float32/float16, int8, or top-k trimmed.

- `float32`, `float16`: the tensors as they are, or halved.
- `int8`: per-tensor symmetric quantisation, `round(x / scale)` with scale = max|x| / 127;
  stored as the int8 tensor plus its float32 scale.
- `topk-P`: TIES-merging's trim step: keep the P % largest magnitudes of each tensor, zero the
  rest; stored sparsely as int32 flat indices plus float16 values, with the shape.

Decoding gives float32 tensors (float16 stays float16). Encoded files keep the tensor names;
helper tensors are suffixed with `SUFFIX_*`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

from tastevec.common.errors import TaskVectorError

DENSE = {"float32": torch.float32, "float16": torch.float16}
INT8 = "int8"
_TOPK = re.compile(r"topk-(\d{1,2})")
SUFFIX_SCALE = ":scale"
SUFFIX_INDICES = ":indices"
SUFFIX_VALUES = ":values"
SUFFIX_SHAPE = ":shape"


def parse_encoding(encoding: str) -> float | None:
    """Validate an encoding name; for `topk-P` return the kept fraction P/100, else None."""
    if encoding in DENSE or encoding == INT8:
        return None
    match = _TOPK.fullmatch(encoding)
    if match and 1 <= int(match.group(1)) <= 99:
        return int(match.group(1)) / 100
    raise TaskVectorError(
        f"unknown task vector encoding {encoding!r}; choose float32, float16, int8 or topk-P "
        "(P = 1..99, the percent of largest magnitudes kept)"
    )


@torch.no_grad()
def encode_tensors(deltas: Mapping[str, torch.Tensor], encoding: str) -> dict[str, torch.Tensor]:
    """The tensors to write for `deltas` stored in `encoding`."""
    keep = parse_encoding(encoding)
    out: dict[str, torch.Tensor] = {}
    for name, delta in deltas.items():
        delta = delta.detach().cpu().float()
        if encoding in DENSE:
            out[name] = delta.to(DENSE[encoding]).contiguous()
        elif keep is None:  # int8
            scale = delta.abs().max() / 127.0
            safe = scale if scale > 0 else torch.tensor(1.0)
            out[name] = torch.round(delta / safe).clamp(-127, 127).to(torch.int8).contiguous()
            out[name + SUFFIX_SCALE] = scale.reshape(1).float()
        else:
            flat = delta.reshape(-1)
            count = max(1, math.ceil(keep * flat.numel()))
            indices = torch.topk(flat.abs(), count, sorted=False).indices.sort().values
            out[name + SUFFIX_INDICES] = indices.to(torch.int32)
            out[name + SUFFIX_VALUES] = flat[indices].to(torch.float16)
            out[name + SUFFIX_SHAPE] = torch.tensor(list(delta.shape), dtype=torch.int64)
    return out


def decode_tensors(
    tensors: Mapping[str, torch.Tensor], encoding: str, *, origin: str
) -> dict[str, torch.Tensor]:
    """The dense deltas stored in `tensors` (as written by `encode_tensors`)."""
    try:
        parse_encoding(encoding)
    except TaskVectorError as exc:
        raise TaskVectorError(f"{origin}: {exc}") from None
    if encoding in DENSE:
        return dict(tensors)
    names = sorted({name.split(":", 1)[0] for name in tensors})
    try:
        if encoding == INT8:
            return {n: tensors[n].float() * tensors[n + SUFFIX_SCALE].float() for n in names}
        return {n: _densify(tensors, n) for n in names}
    except (KeyError, RuntimeError, IndexError) as exc:
        raise TaskVectorError(f"{origin}: malformed {encoding} task vector ({exc})") from None


def _densify(tensors: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    shape = [int(v) for v in tensors[name + SUFFIX_SHAPE].tolist()]
    indices = tensors[name + SUFFIX_INDICES].long()
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= math.prod(shape)):
        raise IndexError(f"{name}: an index lies outside its shape {shape}")
    dense = torch.zeros(math.prod(shape), dtype=torch.float32)
    dense[indices] = tensors[name + SUFFIX_VALUES].float()
    return dense.reshape(shape)
