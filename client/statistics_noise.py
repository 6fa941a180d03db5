"""Differential privacy on what a device shares: clip, then add this device's part of the noise.

Optional, and off unless the round asks for it (`dp-noise-multiplier` > 0 in the run config).
The device scales its shared vector ([coefficients, squares] / scale) to L2 norm at most
`clipping_norm` (Flower's `clip_inputs_inplace`), so adding or removing one person changes the
cohort's sum by at most `clipping_norm`; then it adds Gaussian noise of standard deviation
`noise_multiplier * clipping_norm / sqrt(cohort)` (Flower's `add_gaussian_noise_inplace`).
SecAgg+ sums the noisy vectors, so the noise of the cohort's sum has standard deviation
`noise_multiplier * clipping_norm` and the server never sees a sum without it (distributed
DP: no one, the server included, holds the noise-free sum). The guarantee assumes the devices
add their noise honestly; if devices drop out, fewer noise shares remain, and the server's
accountant counts only the survivors' noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from flwr.supercore.differential_privacy import add_gaussian_noise_inplace, clip_inputs_inplace

from tastevec.common.errors import StatisticsError


@dataclass(frozen=True, slots=True)
class StatisticsNoise:
    clipping_norm: float
    noise_multiplier: float
    cohort: int  # the number of devices asked this round: each adds 1/cohort of the variance

    def __post_init__(self) -> None:
        if not (self.clipping_norm > 0 and self.noise_multiplier > 0 and self.cohort > 0):
            raise StatisticsError(
                f"DP needs clipping norm ({self.clipping_norm}), noise multiplier "
                f"({self.noise_multiplier}) and cohort ({self.cohort}) > 0"
            )

    @property
    def device_std(self) -> float:
        return self.noise_multiplier * self.clipping_norm / math.sqrt(self.cohort)


def add_statistics_noise(
    arrays: list[npt.NDArray[np.float64]], noise: StatisticsNoise
) -> list[npt.NDArray[np.float64]]:
    """`arrays` clipped to L2 norm `noise.clipping_norm`, plus this device's noise (copies)."""
    noisy = [np.array(a, np.float64) for a in arrays]
    clip_inputs_inplace(noisy, noise.clipping_norm)
    add_gaussian_noise_inplace(noisy, noise.device_std)
    return noisy
