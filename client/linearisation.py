"""The personal model to first order in its coefficients, one image at a time.

For coefficients lambda (one per tensor per task vector), an image's score is
    s(x; lambda) ~= s(x; lambda0) + sum_{t,i} J[x, t, i] * (lambda[t, i] - lambda0[t, i])
with J = d s / d lambda at lambda0. Scores and J depend on the image, the release and
lambda0 only, never on a person's ratings, so they are computed once per image and cached;
a fit then needs no forward pass at all. Coarser layouts (block, global) sum J over the
tensors that share a coefficient.
"""

from __future__ import annotations

import functools
import hashlib
import logging

import numpy as np
import numpy.typing as npt
import torch
from torch.func import grad_and_value, vmap

from tastevec.client.per_sample_jacobian import Unsupported, per_sample_jacobian
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.composition import ComposedModel

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
CHUNK = 16  # images per pass; bounds memory (the vmapped path holds ~CHUNK weight gradients)


@torch.no_grad()
def expansion_digest(expansion: torch.Tensor) -> str:
    """A short name for lambda0, for cache keys."""
    data = expansion.detach().to(torch.float32).contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def linearise(
    composed: ComposedModel, images: torch.Tensor, *, chunk: int = CHUNK
) -> tuple[FloatArray, FloatArray]:
    """Scores [n] and Jacobians [n, tensors, task vectors] at the model's current coefficients.

    `composed` must use the tensor layout. The model is evaluated as it scores (eval mode).
    Models made of convolutions, linear layers and batch norms take the hooked path
    (`per_sample_jacobian`); any other model the general vectorised one.
    """
    if composed.plan.num_groups != len(composed.plan.tensor_names):
        raise ValueError("linearise needs a composed model with the tensor layout")
    composed.eval()
    device = composed.coefficients.device
    merged = composed.merge()
    names, deltas = composed.plan.tensor_names, composed.deltas()
    per_chunk = functools.partial(per_sample_jacobian, merged, names, deltas)
    scores, jacobians = [], []
    for start in range(0, images.shape[0], chunk):
        batch = images[start : start + chunk].to(device)  # the model's device
        try:
            value, jacobian = per_chunk(batch)
        except Unsupported as reason:
            log.debug("per-sample Jacobians by vmap: %s", reason)
            per_chunk = functools.partial(_vmapped_jacobian, composed)
            value, jacobian = per_chunk(batch)
        scores.append(value.detach().cpu())
        jacobians.append(jacobian.detach().cpu())
    return (
        torch.cat(scores).numpy().astype(np.float32),
        torch.cat(jacobians).numpy().astype(np.float32),
    )


def _vmapped_jacobian(
    composed: ComposedModel, images: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The general path: a vectorised per-sample backward pass (slower: see per_sample_jacobian)."""
    coefficients = composed.coefficients.detach()

    def score(lam: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return composed.forward_at(lam, image[None])[0]

    jacobian, value = vmap(grad_and_value(score), in_dims=(None, 0))(coefficients, images)
    return value, jacobian


def group_jacobian(jacobian: FloatArray, plan: CoefficientPlan) -> FloatArray:
    """Per-tensor Jacobians [n, tensors, K] summed into `plan`'s groups: [n, groups, K]."""
    grouped = np.zeros((jacobian.shape[0], plan.num_groups, jacobian.shape[2]), np.float64)
    for tensor, group in enumerate(plan.tensor_groups):
        grouped[:, group] += jacobian[:, tensor]
    return grouped.astype(np.float32)
