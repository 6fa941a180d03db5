"""A database's rating scale: its range and direction, and normalisation to [0, 1]."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Scores exported through spreadsheets and float formatting overshoot their range by rounding.
_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class ScoreScale:
    """Scores from `low` to `high`; `higher_is_better=False` for scales like distortion DMOS."""

    low: float
    high: float
    higher_is_better: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"score scale needs finite low < high, got {self.low}..{self.high}")

    def contains(self, raw: float) -> bool:
        span = (self.high - self.low) * _TOLERANCE
        return math.isfinite(raw) and self.low - span <= raw <= self.high + span

    def normalise(self, raw: float) -> float:
        """`raw` mapped onto [0, 1], higher is better; ValueError if it lies off the scale."""
        if not self.contains(raw):
            raise ValueError(f"score {raw} outside the scale {self.describe()}")
        unit = (raw - self.low) / (self.high - self.low)
        unit = min(1.0, max(0.0, unit))
        return unit if self.higher_is_better else 1.0 - unit

    def describe(self) -> str:
        direction = "higher is better" if self.higher_is_better else "lower is better"
        return f"{self.low:g}..{self.high:g}, {direction}"
