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

import numpy as np
import torch

from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.metrics import srocc
from tastevec.common.rank_loss import halves_rank_loss
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

STEPS = 500
BATCH_SIZE = 32
LEARNING_RATE = 1e-2
WEIGHT_DECAY = 0.01
INIT_TEMPERATURE = 10.0


@dataclass(frozen=True, slots=True)
class ReferenceFit:
    coefficients: torch.Tensor  # [groups, K]
    initial: torch.Tensor  # [K] or [groups, K]
    zero_shot_srocc: tuple[float, ...]
    steps: int
    final_loss: float
    seconds: float


@torch.no_grad()
def zero_shot_srocc(
    base: ScoreModel, vectors: list[TaskVector], images: torch.Tensor, targets: torch.Tensor
) -> list[float]:
    """SROCC of each task vector's own model (coefficient 1 on it, 0 elsewhere)."""
    composed = ComposedModel(base, vectors, CoefficientLayout.GLOBAL).eval()
    result = []
    for index in range(len(vectors)):
        one_hot = torch.zeros(len(vectors))
        one_hot[index] = 1.0
        composed.set_coefficients(one_hot)
        scores = composed.merge()(images)
        result.append(_srocc(scores, targets))
    return result


def initial_coefficients(sroccs: list[float]) -> torch.Tensor:
    return torch.softmax(INIT_TEMPERATURE * torch.tensor(sroccs, dtype=torch.float32), dim=0)


def fit_reference(
    base: ScoreModel,
    vectors: list[TaskVector],
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    layout: CoefficientLayout = CoefficientLayout.TENSOR,
    prior: CoefficientPrior | None = None,
    steps: int = STEPS,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
) -> ReferenceFit:
    """Fit coefficients to `targets` (scores, any scale) of the preprocessed `images`."""
    started = time.perf_counter()
    device = next(base.parameters()).device
    images, targets = images.to(device), targets.to(device, torch.float32)
    sroccs = zero_shot_srocc(base, vectors, images, targets)
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
        zero_shot_srocc=tuple(sroccs),
        steps=steps,
        final_loss=float(loss.detach()),
        seconds=time.perf_counter() - started,
    )


def _srocc(scores: torch.Tensor, targets: torch.Tensor) -> float:
    values = scores.detach().cpu().numpy()
    if np.ptp(values) == 0:
        return 0.0
    return srocc(values, targets.detach().cpu().numpy())
