"""Task vectors: tau = theta_finetuned - theta_base, and their algebra.

Only floating-point tensors take part (integer buffers such as BatchNorm's
`num_batches_tracked` are skipped). Two vectors combine only when they have the same keys,
shapes and dtypes and were made from the same base weights (`base_digest`); anything else
raises TaskVectorError instead of warning and carrying on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from tastevec.common.atomic_file import write_atomic
from tastevec.common.digests import state_dict_digest
from tastevec.common.errors import TaskVectorError
from tastevec.common.os_inputs import read_regular_file
from tastevec.common.safetensors_bytes import read_metadata, save_canonical
from tastevec.common.task_vector_encoding import decode_tensors, encode_tensors

FILE_FORMAT = "tastevec-task-vector/1"
# Largest task-vector file read: a ViT-L/14 fine-tune in float32 is about 1.2 GB.
TASK_VECTOR_FILE_LIMIT = 8 * 2**30
STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


class TaskVector:
    """A mapping of tensor names to weight differences, plus where it came from."""

    __slots__ = ("base_digest", "deltas", "source")

    def __init__(
        self, deltas: Mapping[str, torch.Tensor], *, source: str = "", base_digest: str = ""
    ) -> None:
        if not deltas:
            raise TaskVectorError(f"task vector {source!r} has no tensors")
        for name, tensor in deltas.items():
            if not torch.is_floating_point(tensor):
                raise TaskVectorError(
                    f"task vector {source!r}: tensor {name!r} has non-float dtype {tensor.dtype}"
                )
        self.deltas: dict[str, torch.Tensor] = dict(deltas)
        self.source = source
        self.base_digest = base_digest

    @classmethod
    @torch.no_grad()
    def from_state_dicts(
        cls,
        base: Mapping[str, torch.Tensor],
        finetuned: Mapping[str, torch.Tensor],
        *,
        source: str = "",
        base_digest: str | None = None,
    ) -> TaskVector:
        """finetuned - base over every floating tensor; both must hold the same tensors."""
        if base.keys() != finetuned.keys():
            missing = sorted(base.keys() - finetuned.keys())[:3]
            extra = sorted(finetuned.keys() - base.keys())[:3]
            raise TaskVectorError(
                f"task vector {source!r}: fine-tuned weights differ from the base in keys "
                f"(missing {missing}, unexpected {extra})"
            )
        deltas = {}
        for name, base_tensor in base.items():
            tuned = finetuned[name]
            _require_same(source, name, base_tensor, tuned)
            if torch.is_floating_point(base_tensor):
                deltas[name] = (tuned.detach() - base_tensor.detach()).cpu()
        digest = state_dict_digest(base) if base_digest is None else base_digest
        return cls(deltas, source=source, base_digest=digest)

    # -- algebra -------------------------------------------------------------------------

    def check_compatible(self, other: TaskVector) -> None:
        """Raise TaskVectorError unless both hold the same tensors from the same base."""
        if self.deltas.keys() != other.deltas.keys():
            diff = sorted(self.deltas.keys() ^ other.deltas.keys())[:3]
            raise TaskVectorError(
                f"task vectors {self.source!r} and {other.source!r} have different keys "
                f"(e.g. {diff})"
            )
        if self.base_digest and other.base_digest and self.base_digest != other.base_digest:
            raise TaskVectorError(
                f"task vectors {self.source!r} and {other.source!r} come from different base "
                f"weights ({self.base_digest[:12]} vs {other.base_digest[:12]})"
            )
        for name, tensor in self.deltas.items():
            _require_same(f"{self.source}/{other.source}", name, tensor, other.deltas[name])

    def _combine(self, other: TaskVector, sign: float, source: str) -> TaskVector:
        self.check_compatible(other)
        with torch.no_grad():
            deltas = {k: v + sign * other.deltas[k] for k, v in self.deltas.items()}
        return TaskVector(deltas, source=source, base_digest=self.base_digest or other.base_digest)

    def __add__(self, other: TaskVector) -> TaskVector:
        return self._combine(other, 1.0, f"{self.source}+{other.source}")

    def __radd__(self, other: object) -> TaskVector:
        if isinstance(other, int) and other == 0:  # so that builtin sum() works
            return self
        return NotImplemented

    def __sub__(self, other: TaskVector) -> TaskVector:
        return self._combine(other, -1.0, f"{self.source}-{other.source}")

    def __neg__(self) -> TaskVector:
        return self * -1.0

    def __mul__(self, scale: float) -> TaskVector:
        if not isinstance(scale, int | float) or not math.isfinite(scale):
            raise TaskVectorError(f"task vector {self.source!r}: scale must be a finite number")
        with torch.no_grad():
            deltas = {k: v * scale for k, v in self.deltas.items()}
        return TaskVector(deltas, source=f"{scale:g}*{self.source}", base_digest=self.base_digest)

    __rmul__ = __mul__

    @staticmethod
    def sum(vectors: Iterable[TaskVector]) -> TaskVector:
        vectors = list(vectors)
        if not vectors:
            raise TaskVectorError("cannot sum an empty list of task vectors")
        total = vectors[0]
        for vector in vectors[1:]:
            total = total + vector
        return total

    @torch.no_grad()
    def dot(self, other: TaskVector) -> float:
        self.check_compatible(other)
        return float(
            sum(
                torch.sum(v.double() * other.deltas[k].double()).item()
                for k, v in self.deltas.items()
            )
        )

    def norm(self) -> float:
        """Euclidean norm over all tensors together."""
        return math.sqrt(self.dot(self))

    def cosine_similarity(self, other: TaskVector) -> float:
        denominator = self.norm() * other.norm()
        if denominator == 0.0:
            raise TaskVectorError(
                f"cosine similarity of {self.source!r} and {other.source!r}: a vector is zero"
            )
        return self.dot(other) / denominator

    # -- use -------------------------------------------------------------------------------

    def misfit(
        self, base: Mapping[str, torch.Tensor], base_digest: str | None = None
    ) -> str | None:
        """Why this vector cannot be added to the weights `base`, or None if it can.

        `base_digest` is `state_dict_digest(base)` when the caller already has it.
        """
        missing = sorted(self.deltas.keys() - base.keys())[:3]
        if missing:
            return f"task vector {self.source!r} has tensors the model lacks (e.g. {missing})"
        for name, delta in self.deltas.items():
            if base[name].shape != delta.shape:
                return (
                    f"task vector {self.source!r}: {name!r} has shape {tuple(delta.shape)}, "
                    f"the model's is {tuple(base[name].shape)}"
                )
        if self.base_digest and (base_digest or state_dict_digest(base)) != self.base_digest:
            return (
                f"task vector {self.source!r} was made from other base weights "
                f"({self.base_digest[:12]})"
            )
        return None

    @torch.no_grad()
    def apply_to(
        self, base: Mapping[str, torch.Tensor], scale: float = 1.0
    ) -> dict[str, torch.Tensor]:
        """base + scale * tau; tensors the vector does not hold are copied unchanged."""
        problem = self.misfit(base)
        if problem:
            raise TaskVectorError(f"{problem}; refusing to apply it")
        merged = {}
        for name, tensor in base.items():
            delta = self.deltas.get(name)
            if delta is None:
                merged[name] = tensor.clone()
                continue
            merged[name] = (tensor + scale * delta.to(tensor.device, tensor.dtype)).to(tensor.dtype)
        return merged

    def to(self, dtype: torch.dtype) -> TaskVector:
        """A copy stored in `dtype` (float32 or float16)."""
        if dtype not in STORAGE_DTYPES.values():
            raise TaskVectorError(f"task vectors are stored in float32 or float16, not {dtype}")
        deltas = {k: v.to(dtype) for k, v in self.deltas.items()}
        return TaskVector(deltas, source=self.source, base_digest=self.base_digest)

    @property
    def num_parameters(self) -> int:
        return sum(t.numel() for t in self.deltas.values())

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.deltas.values())

    # -- files -----------------------------------------------------------------------------

    def to_bytes(self, encoding: str | None = None) -> bytes:
        """Safetensors bytes; `encoding` (see task_vector_encoding) or None for as stored."""
        metadata = {"format": FILE_FORMAT, "source": self.source, "base_digest": self.base_digest}
        if encoding is None:
            tensors = {k: v.detach().cpu().contiguous() for k, v in self.deltas.items()}
        else:
            tensors = encode_tensors(self.deltas, encoding)
            metadata["encoding"] = encoding
        return save_canonical(tensors, metadata)

    def save(self, path: Path, encoding: str | None = None) -> None:
        """Write as safetensors (atomically), with source and base digest as metadata."""
        write_atomic(path, self.to_bytes(encoding))

    @classmethod
    def from_bytes(cls, data: bytes, *, origin: str = "<bytes>") -> TaskVector:
        try:
            tensors = load_safetensors(data)
            metadata = read_metadata(data)
        except (SafetensorError, ValueError, OSError) as exc:
            raise TaskVectorError(f"{origin}: not a readable safetensors file ({exc})") from exc
        if metadata.get("format") != FILE_FORMAT:
            raise TaskVectorError(
                f"{origin}: not a tastevec task vector (format {metadata.get('format')!r})"
            )
        if "encoding" in metadata:
            tensors = decode_tensors(tensors, metadata["encoding"], origin=origin)
        return cls(
            tensors, source=metadata.get("source", ""), base_digest=metadata.get("base_digest", "")
        )

    @classmethod
    def load(cls, path: Path) -> TaskVector:
        data = read_regular_file(
            path, limit=TASK_VECTOR_FILE_LIMIT, what="task vector", error=TaskVectorError
        )
        return cls.from_bytes(data, origin=str(path))

    def __repr__(self) -> str:
        return (
            f"TaskVector(source={self.source!r}, tensors={len(self.deltas)}, "
            f"parameters={self.num_parameters}, base={self.base_digest[:12]!r})"
        )


def _require_shape(source: str, name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise TaskVectorError(
            f"task vector {source!r}: tensor {name!r} has shape {tuple(b.shape)}, "
            f"expected {tuple(a.shape)}"
        )


def _require_same(source: str, name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    _require_shape(source, name, a, b)
    if a.dtype != b.dtype:
        raise TaskVectorError(
            f"task vector {source!r}: tensor {name!r} has dtype {b.dtype}, expected {a.dtype}"
        )
