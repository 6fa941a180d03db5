"""Ranking and correlation metrics: predicted aesthetic scores against human ratings.

Pure numpy. Every metric takes ``pred`` and ``target``: two 1-D array-likes of real numbers
(lists, numpy arrays, CPU torch tensors without grad) of equal length, converted to float64.
Each returns a Python float: the correlations lie in [-1, 1] (clipped against rounding),
``pairwise_accuracy`` in [0, 1].

- ``srocc``: Spearman rank correlation, Pearson on average ranks (as scipy.stats.spearmanr).
- ``plcc``: Pearson linear correlation (as scipy.stats.pearsonr).
- ``krcc``: Kendall tau-b (as scipy.stats.kendalltau's default variant).
- ``pairwise_accuracy``: over pairs i < j whose targets differ, the fraction that pred orders
  the same way; a tie in pred counts 0.5.

``krcc`` and ``pairwise_accuracy`` compare all pairs, O(n^2) time, in row chunks of bounded
memory (a few MiB); n = 10,000 takes well under a second.

Degenerate inputs:

- ``MetricError`` with a one-line message naming the metric and the problem when an input is
  not 1-D or not real numbers, the lengths differ, there are fewer than 2 items, or a value is
  NaN or infinite.
- A constant ``pred`` or ``target`` carries no ranking information: ``srocc``, ``plcc`` and
  ``krcc`` return 0.0 (where scipy returns NaN and warns), and no warning is emitted.
- ``pairwise_accuracy`` returns 0.5 (chance) when no pair has differing targets; a constant
  ``pred`` ties every pair, which also gives 0.5.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tastevec.common.errors import MetricError

__all__ = ["krcc", "pairwise_accuracy", "plcc", "srocc"]

FloatArray = npt.NDArray[np.float64]
SignArray = npt.NDArray[np.int8]

# Cells (row x column pairs) compared at once by the pairwise metrics; bounds their memory.
_CHUNK_CELLS = 1 << 22


def _validated(
    name: str, pred: npt.ArrayLike, target: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Both inputs as 1-D float64 arrays of equal length >= 2 without NaN or infinity."""
    arrays = []
    for label, values in (("pred", pred), ("target", target)):
        try:
            raw = np.asarray(values)
        except (TypeError, ValueError, RuntimeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MetricError(
                f"{name}: {label} is not an array of real numbers ({reason})"
            ) from exc
        if raw.dtype.kind not in "biuf":
            raise MetricError(f"{name}: {label} must hold real numbers, got dtype {raw.dtype}")
        if raw.ndim != 1:
            raise MetricError(f"{name}: {label} must be 1-D, got shape {raw.shape}")
        arrays.append(raw.astype(np.float64))
    x, y = arrays
    if x.size != y.size:
        raise MetricError(f"{name}: pred has {x.size} items but target has {y.size}")
    if x.size < 2:
        raise MetricError(f"{name} needs at least 2 items, got {x.size}")
    for label, arr in (("pred", x), ("target", y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise MetricError(f"{name}: {label} contains NaN or infinity at index {bad[0]}")
    return x, y


def _is_constant(x: FloatArray) -> bool:
    return bool(np.all(x == x[0]))


def _centred(x: FloatArray) -> FloatArray:
    """x minus its mean, scaled to max |value| 1; x must not be constant."""
    # Scaling by a power of two is exact, and keeps the sum inside the mean from overflowing.
    x = np.ldexp(x, -int(np.frexp(np.max(np.abs(x)))[1]))
    xm = x - x.mean()
    return xm / np.max(np.abs(xm))


def _pearson(x: FloatArray, y: FloatArray) -> float:
    if _is_constant(x) or _is_constant(y):
        return 0.0
    xm, ym = _centred(x), _centred(y)
    # sqrt(sxx * syy), not a product of norms: identical xm and ym then give exactly 1.
    r = float(np.dot(xm, ym)) / math.sqrt(float(np.dot(xm, xm)) * float(np.dot(ym, ym)))
    return min(1.0, max(-1.0, r))


def _average_ranks(x: FloatArray) -> FloatArray:
    """Ranks 1..n; tied values share the mean of the ranks they span."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    starts_group = np.empty(x.size, dtype=bool)
    starts_group[0] = True
    np.not_equal(xs[1:], xs[:-1], out=starts_group[1:])
    starts = np.flatnonzero(starts_group)
    ends = np.append(starts[1:], x.size)
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = ((starts + ends + 1) / 2.0)[np.cumsum(starts_group) - 1]
    return ranks


def _signs(v: FloatArray, start: int, stop: int) -> SignArray:
    """sign(v[j] - v[i]) for rows i in [start, stop) and columns j in [start, n)."""
    row, col = v[start:stop, None], v[None, start:]
    return (col > row).view(np.int8) - (col < row).view(np.int8)


def _pair_counts(x: FloatArray, y: FloatArray) -> tuple[int, int, int]:
    """Over pairs i < j: sum of sign(dx) * sign(dy), pairs with dx != 0, pairs with dy != 0."""
    n = x.size
    rows = max(1, _CHUNK_CELLS // n)
    total = np.zeros(3, dtype=np.int64)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        sx, sy = _signs(x, start, stop), _signs(y, start, stop)
        k = stop - start
        prod = sx * sy
        full = [prod.sum(dtype=np.int64), np.count_nonzero(sx), np.count_nonzero(sy)]
        # The leading k x k block holds each pair inside the chunk twice (same signs, same
        # product) and the zero diagonal; every other cell is a pair with i < j, once.
        block = [
            prod[:, :k].sum(dtype=np.int64),
            np.count_nonzero(sx[:, :k]),
            np.count_nonzero(sy[:, :k]),
        ]
        total += np.array(full, dtype=np.int64) - np.array(block, dtype=np.int64) // 2
    s, nx, ny = (int(v) for v in total)
    return s, nx, ny


def srocc(pred: npt.ArrayLike, target: npt.ArrayLike) -> float:
    """Spearman rank-order correlation; 0.0 when either input is constant."""
    x, y = _validated("srocc", pred, target)
    return _pearson(_average_ranks(x), _average_ranks(y))


def plcc(pred: npt.ArrayLike, target: npt.ArrayLike) -> float:
    """Pearson linear correlation; 0.0 when either input is constant."""
    x, y = _validated("plcc", pred, target)
    return _pearson(x, y)


def krcc(pred: npt.ArrayLike, target: npt.ArrayLike) -> float:
    """Kendall tau-b; 0.0 when either input is constant."""
    x, y = _validated("krcc", pred, target)
    s, nx, ny = _pair_counts(x, y)
    if nx == 0 or ny == 0:
        return 0.0
    return min(1.0, max(-1.0, s / math.sqrt(nx * ny)))


def pairwise_accuracy(pred: npt.ArrayLike, target: npt.ArrayLike) -> float:
    """Share of target-ordered pairs that pred orders alike (pred ties 0.5); 0.5 if none."""
    x, y = _validated("pairwise_accuracy", pred, target)
    s, _, ny = _pair_counts(x, y)
    # Over the ny pairs with differing targets: (agree + ties/2) / ny = 1/2 + (agree - disagree)/2ny
    return 0.5 if ny == 0 else 0.5 + 0.5 * s / ny
