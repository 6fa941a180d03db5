"""The paper's coefficient fit, reproduced faithfully (Yun & Choo, ECCV 2024).

Coefficients per tensor per task vector (any layout may be asked for), initialised at
softmax(10 * zero-shot SROCC of each task vector's own model on the person's ratings), the
pairwise rank loss with the batch split in halves, AdamW (lr 1e-2, weight decay 0.01), 500
steps of batches of 32 drawn from the ratings. Every step runs the whole composed model
forward and backward, so a fit costs 500 training steps of the backbone.

A population prior, when given, replaces the initialisation by its mean and adds the
penalty sum (lambda - mean)^2 / (2 * n * variance) for n ratings: a Gaussian prior whose
pull fades as ratings accumulate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from tastevec.client.fit_options import REFERENCE_STEPS
from tastevec.client.zero_shot import initial_coefficients, own_scores, zero_shot_srocc
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.rank_loss import halves_rank_loss
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

BATCH_SIZE = 32
LEARNING_RATE = 1e-2
WEIGHT_DECAY = 0.01


@dataclass(frozen=True, slots=True)
class ReferenceFit:
    coefficients: torch.Tensor  # [groups, K]
    initial: torch.Tensor  # [K] or [groups, K]
    zero_shot_srocc: tuple[float, ...]
    steps: int
    final_loss: float
    seconds: float


def fit_reference(
    base: ScoreModel,
    vectors: list[TaskVector],
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layout: CoefficientLayout = CoefficientLayout.TENSOR,
    prior: CoefficientPrior | None = None,
    steps: int = REFERENCE_STEPS,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
) -> ReferenceFit:
    """Fit coefficients to `targets` (scores, any scale) of the preprocessed `images`."""
    started = time.perf_counter()
    device = next(base.parameters()).device
    images, targets = images.to(device), targets.to(device, torch.float32)
    sroccs = zero_shot_srocc(own_scores(base, vectors, images), targets.cpu().numpy())
    initial = prior.mean if prior is not None else initial_coefficients(sroccs)
    composed = ComposedModel(base, vectors, layout, init=initial.to(torch.float32)).to(device)
    optimiser = torch.optim.AdamW(
        [composed.coefficients], lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
    )
    generator = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    order = torch.empty(0, dtype=torch.long)
    loss = torch.zeros(())
    composed.train()
    for _ in range(steps):
        if len(order) < min(batch_size, n):
            order = torch.cat([order, torch.randperm(n, generator=generator)])
        batch, order = order[: min(batch_size, n)], order[min(batch_size, n) :]
        loss = halves_rank_loss(composed(images[batch]), targets[batch])
        if prior is not None:
            shift = composed.coefficients - prior.mean.to(device)
            loss = loss + (shift.pow(2) / prior.variance.to(device)).sum() / (2 * n)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    composed.eval()
    return ReferenceFit(
        coefficients=composed.coefficients.detach().cpu().clone(),
        initial=initial.detach().cpu(),
        zero_shot_srocc=sroccs,
        steps=steps,
        final_loss=float(loss.detach()),
        seconds=time.perf_counter() - started,
    )
