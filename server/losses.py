"""Training losses for a score model: predictions and targets are scores in [0, 1].

- `rank`: the paper's pairwise rank loss, Bradley-Terry cross-entropy on score differences
  over every pair in the batch whose targets differ (ties give no loss).
- `mse`: mean squared error on the scores.
- `emd`: earth mover's distance (r = 2) between the head's bin distribution and a target
  distribution centred on the target score (needs the distribution head).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from tastevec.common.rank_loss import rank_loss
from tastevec.common.score_head import DistributionHead
from tastevec.common.score_model import ScoreModel

# Width of the target distribution for EMD, in bins.
EMD_SIGMA_BINS = 1.0


def target_distribution(targets: torch.Tensor, bins: int) -> torch.Tensor:
    """A discretised normal over `bins` bins centred on each target score, rows sum to 1."""
    centres = torch.linspace(0.0, 1.0, bins, device=targets.device, dtype=targets.dtype)
    sigma = EMD_SIGMA_BINS / (bins - 1)
    weights = torch.exp(-0.5 * ((centres[None, :] - targets[:, None]) / sigma) ** 2)
    return weights / weights.sum(dim=-1, keepdim=True)


def emd_loss(distribution: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """EMD with r = 2 between two batches of distributions over the same bins."""
    difference = torch.cumsum(distribution, dim=-1) - torch.cumsum(target, dim=-1)
    return difference.pow(2).mean(dim=-1).sqrt().mean()


@dataclass(frozen=True, slots=True)
class Loss:
    """A loss on model outputs: scores [batch], or bin distributions [batch, bins]."""

    name: str
    on_distribution: bool
    compute: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _emd_to_scores(distribution: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return emd_loss(distribution, target_distribution(targets, distribution.shape[-1]))


LOSSES: dict[str, Loss] = {
    "rank": Loss("rank", False, rank_loss),
    "mse": Loss("mse", False, nn.functional.mse_loss),
    "emd": Loss("emd", True, _emd_to_scores),
}


class TrainingView(nn.Module):
    """What a loss sees of a score model: its scores, or its head's bin distributions.

    Training runs through this module (and DistributedDataParallel wraps it), so that the
    distribution is computed inside the wrapped forward.
    """

    def __init__(self, model: ScoreModel, *, on_distribution: bool) -> None:
        super().__init__()
        if on_distribution and not isinstance(model.head, DistributionHead):
            raise TypeError("a loss on bin distributions needs the distribution head")
        self.model = model
        self.on_distribution = on_distribution

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.model.features(images)
        if self.on_distribution:
            return cast(DistributionHead, self.model.head).distribution(features)
        return self.model.head(features)
