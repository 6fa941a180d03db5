"""The pairwise rank loss: Bradley-Terry cross-entropy on score differences.

Scores and targets are in [0, 1]; only the order of targets matters, and pairs whose targets
are equal give no loss. The forge and the device's coefficient fits share it.
"""

from __future__ import annotations

import torch
from torch import nn

# Score differences in [-1, 1] are scaled before the logistic, so that a clear preference can
# reach a confident probability.
RANK_SCALE = 10.0


def rank_loss(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean loss over every pair in the batch whose targets differ (0 if none)."""
    difference = (predictions[:, None] - predictions[None, :]) * RANK_SCALE
    preferred = targets[:, None] > targets[None, :]
    if not bool(preferred.any()):
        return predictions.sum() * 0.0
    return nn.functional.softplus(-difference[preferred]).mean()


def halves_rank_loss(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The paper's form: the batch split in halves, item i paired with item i + batch // 2."""
    half = predictions.shape[0] // 2
    if half == 0:
        return predictions.sum() * 0.0
    difference = (predictions[:half] - predictions[half : 2 * half]) * RANK_SCALE
    sign = torch.sign(targets[:half] - targets[half : 2 * half])
    keep = sign != 0
    if not bool(keep.any()):
        return predictions.sum() * 0.0
    return nn.functional.softplus(-(sign * difference)[keep]).mean()
