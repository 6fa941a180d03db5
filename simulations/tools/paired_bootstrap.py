"""Is one model's SROCC on a test set clearly higher than another's? A paired bootstrap.

Both models score the same test images; resampling the images (with replacement) and
recomputing both SROCCs on each resample gives the spread of their difference that comes
from which images happened to be in the test set.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from tastevec.common.metrics import srocc


def srocc_gain_interval(
    before: npt.ArrayLike,
    after: npt.ArrayLike,
    truth: npt.ArrayLike,
    *,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """The `level` percentile interval of srocc(after) - srocc(before) over paired resamples."""
    a, b, y = (np.asarray(v, dtype=np.float64) for v in (before, after, truth))
    if not len(a) == len(b) == len(y) >= 3:
        raise ValueError(f"need >= 3 paired scores, got {len(a)}, {len(b)}, {len(y)}")
    rng = np.random.default_rng(seed)
    gains = np.empty(resamples)
    for i in range(resamples):
        pick = rng.integers(0, len(y), len(y))
        gains[i] = srocc(b[pick], y[pick]) - srocc(a[pick], y[pick])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(gains, [tail, 100 - tail])
    return float(low), float(high)


def mean_interval(
    values: npt.ArrayLike, *, resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """The `level` percentile bootstrap interval of the mean of `values` (for example each
    person's gain of one method over another: resampling people, not images)."""
    data = np.asarray(values, dtype=np.float64)
    if len(data) < 2:
        raise ValueError(f"need >= 2 values, got {len(data)}")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), (resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
