"""Coefficient layouts: which tensors share one coefficient per task vector.

- `global`: one coefficient per task vector (Task Arithmetic).
- `block`: one per backbone block or stage, one for the stem before the first block, one for
  the neck after the last, and one for the score head.
- `tensor`: one per tensor per task vector (the paper's layer-wise AdaMerging-style layout).

Tensor names are those of a `ScoreModel` state dict (`backbone.*`, `head.*`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from tastevec.common.errors import CompositionError

_BLOCK_CONTAINERS = ("blocks", "stages", "layers")
_RESNET_STAGE = re.compile(r"layer\d+")


class CoefficientLayout(StrEnum):
    GLOBAL = "global"
    BLOCK = "block"
    TENSOR = "tensor"


def parse_layout(value: str) -> CoefficientLayout:
    try:
        return CoefficientLayout(value)
    except ValueError as exc:
        choices = ", ".join(layout.value for layout in CoefficientLayout)
        raise CompositionError(f"unknown coefficient layout {value!r}; choose {choices}") from exc


@dataclass(frozen=True, slots=True)
class CoefficientPlan:
    """For each composed tensor (in model order), the row of the coefficient matrix it uses."""

    layout: CoefficientLayout
    tensor_names: tuple[str, ...]
    groups: tuple[str, ...]
    tensor_groups: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.tensor_names) != len(self.tensor_groups):
            raise CompositionError("every tensor needs exactly one coefficient group")
        if not self.tensor_names:
            raise CompositionError("a coefficient plan needs at least one tensor")
        if any(not 0 <= g < len(self.groups) for g in self.tensor_groups):
            raise CompositionError("a tensor refers to a coefficient group that does not exist")

    @classmethod
    def for_tensors(cls, layout: CoefficientLayout, names: Sequence[str]) -> CoefficientPlan:
        if layout is CoefficientLayout.TENSOR:
            group_of = list(names)
        elif layout is CoefficientLayout.GLOBAL:
            group_of = ["all"] * len(names)
        else:
            group_of = _block_groups(names)
        groups = tuple(dict.fromkeys(group_of))
        index = {group: i for i, group in enumerate(groups)}
        return cls(layout, tuple(names), groups, tuple(index[g] for g in group_of))

    @property
    def num_groups(self) -> int:
        return len(self.groups)


def _block_groups(names: Sequence[str]) -> list[str]:
    """Group names by backbone block; the stem before the first block, the neck after it."""
    groups = []
    seen_block = False
    for name in names:
        parts = name.split(".")
        if parts[0] != "backbone":
            groups.append(parts[0])
            continue
        block = _block_of(parts[1:])
        if block is not None:
            seen_block = True
            groups.append(f"backbone.{block}")
        else:
            groups.append("backbone.neck" if seen_block else "backbone.stem")
    return groups


def _block_of(parts: Sequence[str]) -> str | None:
    if len(parts) >= 3 and parts[0] in _BLOCK_CONTAINERS and parts[1].isdigit():
        return f"{parts[0]}.{parts[1]}"
    if parts and _RESNET_STAGE.fullmatch(parts[0]):
        return parts[0]
    return None
