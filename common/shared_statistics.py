"""What a consenting device contributes to the population prior, and how the server reads the
secure sum back: each coefficient and its square, divided by a public `scale`, as two float
arrays [groups, K] for SecAgg+.

SecAgg+ clips every value to [-clipping_range, clipping_range] before quantizing it, silently:
a clipped value would bias the prior with no trace. So a device checks every value against
the range before it sends, and refuses (StatisticsError, one line) instead of being clipped;
a larger `scale` makes room at the cost of quantization precision (~2 * clipping_range *
scale / 2**22 per value and person).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from tastevec.common.coefficient_prior import CoefficientSums
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import StatisticsError

FloatArray = npt.NDArray[np.float64]
CLIPPING_RANGE = 8.0  # SecAggPlusWorkflow's default


@dataclass(frozen=True, slots=True)
class StatisticsEncoding:
    clipping_range: float = CLIPPING_RANGE
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (self.clipping_range > 0 and self.scale > 0):
            raise StatisticsError(
                f"clipping range {self.clipping_range} and scale {self.scale} must be > 0"
            )


def encode_statistics(
    coefficients: FloatArray, encoding: StatisticsEncoding
) -> list[npt.NDArray[np.float64]]:
    """[coefficients / scale, coefficients**2 / scale] for one person's [groups, K]
    coefficients; StatisticsError if any value would be clipped."""
    values = np.asarray(coefficients, np.float64)
    if values.ndim != 2 or not np.isfinite(values).all():
        raise StatisticsError(
            f"coefficients must be a finite [groups, K] array, not {values.shape}"
        )
    return check_clipping_range(
        [values / encoding.scale, values * values / encoding.scale], encoding
    )


def check_clipping_range(
    arrays: list[npt.NDArray[np.float64]], encoding: StatisticsEncoding
) -> list[npt.NDArray[np.float64]]:
    """`arrays` as they are; StatisticsError if SecAgg+ would clip any value of them."""
    largest = max(float(np.abs(a).max()) for a in arrays)
    if largest > encoding.clipping_range:
        raise StatisticsError(
            f"a shared value reaches {largest * encoding.scale:.3g}, beyond SecAgg+'s clipping "
            f"range {encoding.clipping_range:g} x scale {encoding.scale:g}: it would be clipped; "
            "raise the round's value-scale"
        )
    return arrays


def largest_encoded(coefficients: FloatArray, encoding: StatisticsEncoding) -> float:
    """The largest |value| `encode_statistics` would send, as a fraction of the clipping range
    (< 1: nothing clipped)."""
    values = np.asarray(coefficients, np.float64)
    largest = max(float(np.abs(values).max()), float((values * values).max()))
    return largest / encoding.scale / encoding.clipping_range


def decode_sums(
    mean_arrays: list[npt.NDArray[np.float64]],
    people: int,
    layout: CoefficientLayout,
    encoding: StatisticsEncoding,
) -> CoefficientSums:
    """The cohort's sums from SecAgg+'s result: the mean over `people` of what each sent."""
    if len(mean_arrays) != 2 or mean_arrays[0].shape != mean_arrays[1].shape:
        raise StatisticsError(
            f"expected two arrays of one shape (coefficients, squares), got "
            f"{[a.shape for a in mean_arrays]}"
        )
    total, squares = (
        torch.from_numpy(np.asarray(a, np.float64) * people * encoding.scale) for a in mean_arrays
    )
    return CoefficientSums(layout, people, total, squares)
