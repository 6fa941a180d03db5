"""Which photo to rate next: the one that should teach the person's model most.

A person's model is base + sum_k lambda_k tau_k. Near the current coefficients, a photo's
score moves with lambda along the vector of the task vectors' disagreement on it,
    d(x) = [s_k(x) - s(x)]_k,
each task vector's own score minus the current (merged) model's. A rating of x says
something about lambda only along d(x): where every task vector agrees with the model, the
rating teaches the coefficients nothing. Treating the person's ratings as noisy linear
observations of the coefficients along these directions, the information they hold is
    A = ridge * I + sum_{rated x} d(x) d(x)^T
(the ridge stands for what is known before any rating). The next photo is the one that
increases log det A most (greedy D-optimal design), i.e. the one with the largest
d^T A^-1 d: the direction the ratings so far have explored least, weighted by how much the
task vectors disagree there. Choosing several at once repeats the step with A updated, so a
batch spreads over different directions instead of piling onto one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

RIDGE = 1e-3  # in squared score units (scores lie in [0, 1]; disagreements are ~0.01-0.1)

FloatArray = npt.NDArray[np.floating]


def disagreement(own_scores: FloatArray, merged_scores: FloatArray) -> npt.NDArray[np.float64]:
    """Each photo's task-vector disagreement [n, K]: own scores [n, K] minus merged [n]."""
    own = np.asarray(own_scores, np.float64)
    merged = np.asarray(merged_scores, np.float64)
    if own.ndim != 2 or merged.shape != (own.shape[0],):
        raise ValueError(f"own scores {own.shape} and merged scores {merged.shape} do not match")
    return own - merged[:, None]


def information(rated: FloatArray, dimension: int, *, ridge: float = RIDGE) -> np.ndarray:
    """The information matrix [K, K] of the rated photos' disagreements [r, K]."""
    rows = np.asarray(rated, np.float64).reshape(-1, dimension)
    return ridge * np.eye(dimension) + rows.T @ rows


def choose(
    candidates: FloatArray, rated: FloatArray, count: int, *, ridge: float = RIDGE
) -> list[int]:
    """Indices of up to `count` candidates [m, K] to rate next, best first, given the
    disagreements of the photos rated so far [r, K] (r may be 0)."""
    if ridge <= 0:
        raise ValueError(f"ridge must be positive, got {ridge}")
    pool = np.asarray(candidates, np.float64)
    if pool.ndim != 2:
        raise ValueError(f"candidates must be [photos, task vectors], got shape {pool.shape}")
    inverse = np.linalg.inv(information(rated, pool.shape[1], ridge=ridge))
    available = np.ones(pool.shape[0], bool)
    chosen: list[int] = []
    for _ in range(min(count, pool.shape[0])):
        gain = np.einsum("ij,jk,ik->i", pool, inverse, pool)  # d^T A^-1 d per candidate
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        available[best] = False
        d = pool[best]
        step = inverse @ d
        inverse -= np.outer(step, step) / (1.0 + d @ step)  # Sherman-Morrison: A + d d^T
    return chosen


def log_det_gain(candidate: FloatArray, rated: FloatArray, *, ridge: float = RIDGE) -> float:
    """How much rating `candidate` [K] would add to log det A (for tests and reports)."""
    d = np.asarray(candidate, np.float64)
    before = information(rated, d.shape[0], ridge=ridge)
    return float(np.linalg.slogdet(before + np.outer(d, d))[1] - np.linalg.slogdet(before)[1])
