"""Composition: theta = theta_base + sum_i lambda[g, i] * tau_i[g].

`ComposedModel` keeps the base model frozen and the task vectors stacked once per tensor
([K, *shape]); its only trainable parameter is the coefficient matrix lambda [groups, K].
Its forward runs the base model functionally (`torch.func.functional_call`) on the composed
tensors, so gradients reach the coefficients alone and no copy of the model per task vector
is ever made. `merge()` bakes the current coefficients into a plain model that scores at the
cost of the base model.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call

from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.digests import state_dict_digest
from tastevec.common.errors import CompositionError
from tastevec.common.task_vector import TaskVector


def compose_state(
    base: Mapping[str, torch.Tensor],
    deltas: Sequence[torch.Tensor],
    coefficients: torch.Tensor,
    plan: CoefficientPlan,
    buffers: frozenset[str] = frozenset(),
) -> dict[str, torch.Tensor]:
    """The composed tensors named in `plan`; `deltas[j]` is tensor j's stack [K, *shape].

    Tensors named in `buffers` (BatchNorm running statistics) are composed with the same
    coefficients but carry no gradient: normalisation statistics are not differentiable.
    Running variances are clamped at zero, since unconstrained coefficients could make them
    negative.
    """
    composed = {}
    for name, group, stacked in zip(plan.tensor_names, plan.tensor_groups, deltas, strict=True):
        row = coefficients[group].detach() if name in buffers else coefficients[group]
        tensor = base[name] + torch.tensordot(row.to(stacked.dtype), stacked, dims=1)
        if name.endswith("running_var"):  # a variance stays a variance under any lambda
            tensor = tensor.clamp_min(0.0)
        composed[name] = tensor
    return composed


def composed_tensor_names(
    base_state: Mapping[str, torch.Tensor], task_vectors: Sequence[TaskVector]
) -> list[str]:
    """The tensors a composition of `task_vectors` onto a model covers, in the model's order."""
    return [name for name in base_state if name in task_vectors[0].deltas]


class ComposedModel(nn.Module):
    """A base model plus K task vectors, weighted by trainable coefficients.

    The base module is frozen in place (not copied). BatchNorm statistics are part of theta
    and composed like weights; they are never re-estimated, so BatchNorm layers stay in eval
    mode even when this module is put in training mode (dropout in the head still follows it).
    """

    def __init__(
        self,
        base: nn.Module,
        task_vectors: Sequence[TaskVector],
        layout: CoefficientLayout = CoefficientLayout.TENSOR,
        init: float | torch.Tensor = 0.0,
    ) -> None:
        super().__init__()
        if not task_vectors:
            raise CompositionError("composition needs at least one task vector")
        base_state = base.state_dict()
        _check_fit(base_state, task_vectors)
        base.requires_grad_(False)
        self.base = base
        names = composed_tensor_names(base_state, task_vectors)
        self.plan = CoefficientPlan.for_tensors(layout, names)
        self.sources = tuple(vector.source for vector in task_vectors)
        self._buffers_composed = frozenset(name for name, _ in base.named_buffers())
        for index, name in enumerate(names):
            # computed in the model's dtype: float16 storage saves download size, not precision
            stacked = torch.stack([vector.deltas[name] for vector in task_vectors]).to(
                base_state[name].device, base_state[name].dtype
            )
            self.register_buffer(f"_delta_{index}", stacked, persistent=False)
        device = base_state[names[0]].device  # coefficients live where the model does
        self.coefficients = nn.Parameter(self._initial(init, len(task_vectors)).to(device))

    def _initial(self, init: float | torch.Tensor, k: int) -> torch.Tensor:
        shape = (self.plan.num_groups, k)
        if isinstance(init, float | int):
            return torch.full(shape, float(init))
        init = init.detach().to(torch.float32)
        if init.shape == (k,):
            return init.expand(shape).clone()
        if init.shape == shape:
            return init.clone()
        raise CompositionError(
            f"initial coefficients of shape {tuple(init.shape)} fit neither ({k},) nor {shape}"
        )

    @property
    def num_task_vectors(self) -> int:
        return int(self.coefficients.shape[1])

    def deltas(self) -> list[torch.Tensor]:
        """Each composed tensor's task vectors stacked, [K, *shape], in the plan's order."""
        return [getattr(self, f"_delta_{i}") for i in range(len(self.plan.tensor_names))]

    def composed_state(self, coefficients: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The composed tensors (differentiable in the coefficients), at `coefficients` if
        given (a [groups, K] tensor, e.g. one being traced by torch.func), else at the model's."""
        base = dict(self.base.state_dict(keep_vars=True))
        lam = self.coefficients if coefficients is None else coefficients
        return compose_state(base, self.deltas(), lam, self.plan, self._buffers_composed)

    def set_coefficients(self, values: torch.Tensor) -> None:
        with torch.no_grad():
            self.coefficients.copy_(self._initial(values, self.num_task_vectors))

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.forward_at(self.coefficients, *args)

    def forward_at(self, coefficients: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        """The forward pass with the given coefficients in place of the model's own."""
        state = self.composed_state(coefficients)
        return functional_call(self.base, state, args, strict=False)

    def train(self, mode: bool = True) -> ComposedModel:
        super().train(mode)
        for module in self.base.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    @torch.no_grad()
    def merge(self) -> nn.Module:
        """A plain copy of the base model with the current coefficients baked in, in eval mode.

        Its outputs equal this module's forward (in eval mode) up to float rounding.
        """
        merged = copy.deepcopy(self.base)
        merged.load_state_dict(self.composed_state(), strict=False)
        return merged.eval()


def _check_fit(base_state: Mapping[str, torch.Tensor], vectors: Sequence[TaskVector]) -> None:
    for vector in vectors[1:]:
        vector.check_compatible(vectors[0])
    digest = state_dict_digest(base_state)
    for vector in vectors:
        problem = vector.misfit(base_state, digest)
        if problem:
            raise CompositionError(f"{problem}; cannot compose it onto this model")
