"""Score heads: pooled backbone features -> a score in [0, 1], higher is better."""

from __future__ import annotations

from enum import StrEnum

import torch
from torch import nn

from tastevec.common.errors import BackboneError


class HeadKind(StrEnum):
    DISTRIBUTION = "distribution"  # the paper's 10-bin head; score = expected bin
    SCALAR = "scalar"  # one sigmoid output


class DistributionHead(nn.Module):
    """Linear(d,512) -> GELU -> Dropout(0.5) -> Linear(512,bins) -> Sigmoid, normalised.

    The paper's head (Yun & Choo). Bin b (1..bins) stands for score (b-1)/(bins-1), so the
    expected bin value maps onto [0, 1].
    """

    bin_values: torch.Tensor

    def __init__(
        self, in_features: int, *, hidden: int = 512, bins: int = 10, dropout: float = 0.5
    ) -> None:
        super().__init__()
        if bins < 2:
            raise BackboneError(f"a distribution head needs at least 2 bins, got {bins}")
        self.fc1 = nn.Linear(in_features, hidden)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, bins)
        self.register_buffer("bin_values", torch.linspace(0.0, 1.0, bins), persistent=False)

    def distribution(self, features: torch.Tensor) -> torch.Tensor:
        """Probabilities over the bins, shape [batch, bins]."""
        logits = self.fc2(self.drop(self.act(self.fc1(features))))
        weights = torch.sigmoid(logits)
        return weights / weights.sum(dim=-1, keepdim=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.distribution(features) @ self.bin_values


class ScalarHead(nn.Module):
    """Linear(d,1) -> Sigmoid."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(features)).squeeze(-1)


def create_head(kind: HeadKind | str, in_features: int) -> nn.Module:
    try:
        kind = HeadKind(kind)
    except ValueError as exc:
        choices = ", ".join(k.value for k in HeadKind)
        raise BackboneError(f"unknown head {kind!r}; choose one of {choices}") from exc
    if kind is HeadKind.DISTRIBUTION:
        return DistributionHead(in_features)
    return ScalarHead(in_features)
