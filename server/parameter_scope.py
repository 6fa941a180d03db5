"""Which parameters a fine-tune tunes, and so which tensors its task vector holds.

- `all`: every parameter (BatchNorm statistics stay frozen, so no buffer changes).
- `head`: the score head only (the "fresh head on a frozen backbone" baseline).
- `top-N`: the last N blocks of the backbone (the neck after the last block counts as one)
  plus the head: a task vector a phone downloads quickly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.errors import TastevecError

_TOP = re.compile(r"top-(\d+)")


class ScopeError(TastevecError):
    """A parameter scope that is not `all`, `head` or `top-N`, or does not fit the model."""


def parse_scope(scope: str) -> int | None:
    """None for `all`, 0 for `head`, N for `top-N`."""
    if scope == "all":
        return None
    if scope == "head":
        return 0
    match = _TOP.fullmatch(scope)
    if match and int(match.group(1)) >= 1:
        return int(match.group(1))
    raise ScopeError(f"unknown parameter scope {scope!r}; choose all, head or top-N (N >= 1)")


def tuned_parameter_names(scope: str, parameter_names: Sequence[str]) -> tuple[str, ...]:
    """The names (of a ScoreModel's parameters, in model order) that `scope` tunes."""
    top = parse_scope(scope)
    if top is None:
        return tuple(parameter_names)
    plan = CoefficientPlan.for_tensors(CoefficientLayout.BLOCK, parameter_names)
    backbone_groups = [g for g in plan.groups if g.startswith("backbone.")]
    if top > len(backbone_groups):
        raise ScopeError(
            f"scope {scope!r}: the backbone has only {len(backbone_groups)} blocks to tune"
        )
    chosen = set(backbone_groups[len(backbone_groups) - top :]) | {
        g for g in plan.groups if not g.startswith("backbone.")
    }
    return tuple(
        name
        for name, group in zip(plan.tensor_names, plan.tensor_groups, strict=True)
        if plan.groups[group] in chosen
    )
