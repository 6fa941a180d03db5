"""Fitting coefficients on the linearised personal model: a small convex problem.

Predicted scores are linear in the coefficients (see `linearisation.py`):
    z = s0 + F (lambda - lambda0),  F = grouped Jacobian [n, P]
and the fit minimises the pairwise rank loss over every pair of rated images with different
scores, plus a penalty (alpha / 2) * sum_p precision_p (lambda_p - centre_p)^2 that pulls
toward a centre: the population prior's mean (precision = 1 / its variance), or without a
prior the paper's initialisation. The problem is convex, so L-BFGS finds its optimum in
milliseconds, and alpha is chosen by cross-validation on the person's own ratings only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from tastevec.common.metrics import srocc
from tastevec.common.rank_loss import RANK_SCALE

FloatArray = npt.NDArray[np.float64]
ALPHAS = tuple(float(a) for a in np.logspace(-4, 2, 13))
FOLDS = 5
MAX_ITERATIONS = 500


@dataclass(frozen=True, slots=True)
class LinearProblem:
    """One person's linearised fit: base scores [n], features [n, P], expansion point [P]."""

    base_scores: FloatArray
    features: FloatArray
    expansion: FloatArray

    def predict(
        self, coefficients: FloatArray, rows: npt.NDArray[np.intp] | None = None
    ) -> FloatArray:
        s0 = self.base_scores if rows is None else self.base_scores[rows]
        f = self.features if rows is None else self.features[rows]
        return s0 + f @ (coefficients - self.expansion)


@dataclass(frozen=True, slots=True)
class Penalty:
    """Pull toward `centre`; coefficients stay within `radius` of it (the trust region)."""

    centre: FloatArray
    precision: FloatArray
    radius: float = float("inf")


@dataclass(frozen=True, slots=True)
class LinearFit:
    coefficients: FloatArray
    alpha: float
    cv_srocc: float
    iterations: int


def preferred_pairs(targets: FloatArray) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Index pairs (i, j) with targets[i] > targets[j]."""
    better, worse = np.nonzero(targets[:, None] > targets[None, :])
    return better.astype(np.intp), worse.astype(np.intp)


def objective(
    problem: LinearProblem,
    targets: FloatArray,
    penalty: Penalty,
    alpha: float,
    rows: npt.NDArray[np.intp] | None = None,
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Coefficients -> (mean pairwise rank loss on `rows` + penalty, its gradient)."""
    rows = np.arange(len(targets)) if rows is None else rows
    s0 = problem.base_scores[rows].astype(np.float64)
    f = problem.features[rows].astype(np.float64)
    better, worse = preferred_pairs(targets[rows])
    pairs = max(len(better), 1)

    def value_and_gradient(coefficients: FloatArray) -> tuple[float, FloatArray]:
        shift = coefficients - penalty.centre
        z = s0 + f @ (coefficients - problem.expansion)
        margin = RANK_SCALE * (z[better] - z[worse])
        loss = float(np.logaddexp(0.0, -margin).sum()) / pairs
        weight = -RANK_SCALE * expit(-margin) / pairs
        gz = np.bincount(better, weight, len(z)) - np.bincount(worse, weight, len(z))
        value = loss + 0.5 * alpha * float((penalty.precision * shift * shift).sum())
        return value, f.T @ gz + alpha * penalty.precision * shift

    return value_and_gradient


def solve(
    problem: LinearProblem,
    targets: FloatArray,
    penalty: Penalty,
    alpha: float,
    *,
    rows: npt.NDArray[np.intp] | None = None,
) -> tuple[FloatArray, int]:
    """The coefficients minimising `objective` within the trust region, and the iterations."""
    bounds = None
    if np.isfinite(penalty.radius):
        bounds = list(
            zip(penalty.centre - penalty.radius, penalty.centre + penalty.radius, strict=True)
        )
    result = minimize(
        objective(problem, targets, penalty, alpha, rows),
        penalty.centre,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": MAX_ITERATIONS},
    )
    return np.asarray(result.x, np.float64), int(result.nit)


def fit(
    problem: LinearProblem,
    targets: FloatArray,
    penalty: Penalty,
    *,
    alphas: tuple[float, ...] = ALPHAS,
    seed: int = 0,
) -> LinearFit:
    """Choose alpha by k-fold cross-validation on the ratings, then fit on all of them.

    The cross-validated figure is the SROCC of pooled out-of-fold predictions; ties go to
    the stronger penalty.
    """
    n = len(targets)
    folds = np.random.default_rng(seed).permutation(n) % min(FOLDS, n)
    best_alpha, best_score = alphas[-1], -np.inf
    for alpha in sorted(alphas, reverse=True):
        predictions = np.empty(n)
        for fold in range(int(folds.max()) + 1):
            train = np.nonzero(folds != fold)[0]
            held = np.nonzero(folds == fold)[0]
            coefficients, _ = solve(problem, targets, penalty, alpha, rows=train)
            predictions[held] = problem.predict(coefficients, held)
        score = _srocc_or_zero(predictions, targets)
        if score > best_score + 1e-9:
            best_alpha, best_score = alpha, score
    coefficients, iterations = solve(problem, targets, penalty, best_alpha)
    return LinearFit(coefficients, best_alpha, best_score, iterations)


def _srocc_or_zero(predictions: FloatArray, targets: FloatArray) -> float:
    if np.ptp(predictions) == 0:
        return 0.0
    return srocc(predictions, targets)
