"""Fitting coefficients on the linearised personal model: a small convex problem.

Predicted scores are linear in the coefficients (see `linearisation.py`):
    z = s0 + F (lambda - lambda0),  F = grouped Jacobian [n, P]
and the fit minimises the pairwise rank loss over every pair of rated images with different
scores, plus a penalty (alpha / 2) * sum_p precision_p (lambda_p - centre_p)^2 that pulls
toward a centre: the population prior's mean (precision = 1 / its variance), or without a
prior the paper's initialisation. A full precision matrix [P, P] in place of the vector
makes the penalty (alpha / 2) * shift' precision shift (the device passes the vector; the
prior-covariance measurement passes matrices). The problem is convex, so L-BFGS finds its
optimum in milliseconds. From `FitConfig.step_from_ratings` ratings on, cross-validation on
the person's own ratings chooses alpha, or no step at all; with fewer, the centre itself is
the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit

from tastevec.client.fit_config import DEFAULT_FIT_CONFIG
from tastevec.common.errors import FitError
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
    """Pull toward `centre`; coefficients stay within `radius` of it (the trust region).
    `precision`: per coefficient [P], or a full symmetric positive definite matrix [P, P]."""

    centre: FloatArray
    precision: FloatArray
    radius: float = float("inf")

    def __post_init__(self) -> None:
        size = len(self.centre)
        if self.precision.shape not in ((size,), (size, size)):
            raise FitError(
                f"penalty precision {self.precision.shape} is neither [{size}] nor "
                f"[{size}, {size}] for a centre of {size} coefficients"
            )


@dataclass(frozen=True, slots=True)
class LinearFit:
    coefficients: FloatArray
    alpha: float  # inf: no step was taken (too few ratings, or the centre won the CV)
    cv_srocc: float


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
        if penalty.precision.ndim == 2:
            pull = penalty.precision @ shift
            value = loss + 0.5 * alpha * float(shift @ pull)
            return value, f.T @ gz + alpha * pull
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
) -> FloatArray:
    """The coefficients minimising `objective` within the trust region."""
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
    return np.asarray(result.x, np.float64)


def fit(
    problem: LinearProblem,
    targets: FloatArray,
    penalty_for: Callable[[npt.NDArray[np.intp]], Penalty],
    *,
    alphas: tuple[float, ...] = ALPHAS,
    step_from: int = DEFAULT_FIT_CONFIG.step_from_ratings,
    alpha_below: float = np.inf,
    seed: int = 0,
) -> LinearFit:
    """Choose by k-fold cross-validation between the centre itself and a fit at each alpha,
    then apply the choice to all ratings; with fewer than `step_from` ratings, fit at
    `alpha_below` (inf: keep the centre), too few ratings to choose by; the cross-validated
    SROCC of what was fitted is reported either way.

    `penalty_for(rows)` gives the penalty for a subset of the ratings: its centre may depend
    on them (the paper's initialisation comes from their zero-shot SROCC), so each fold
    recomputes it from its training ratings and the comparison with the centre is honest.
    The cross-validated figure is the SROCC of pooled out-of-fold predictions; a fit must
    beat the centre's to replace it, and ties go to the stronger penalty.
    """
    n = len(targets)
    folds = np.random.default_rng(seed).permutation(n) % min(FOLDS, n)
    splits = [
        (np.nonzero(folds != fold)[0], np.nonzero(folds == fold)[0])
        for fold in range(int(folds.max()) + 1)
    ]
    penalties = [penalty_for(train) for train, _ in splits]

    def cross_validated(alpha: float) -> float:
        predictions = np.empty(n)
        for (train, held), penalty in zip(splits, penalties, strict=True):
            coefficients = (
                penalty.centre
                if np.isinf(alpha)
                else solve(problem, targets, penalty, alpha, rows=train)
            )
            predictions[held] = problem.predict(coefficients, held)
        return _srocc_or_zero(predictions, targets)

    if n < step_from:
        best_alpha, best_score = alpha_below, cross_validated(alpha_below)
    else:
        best_alpha, best_score = np.inf, cross_validated(np.inf)
        for alpha in sorted(alphas, reverse=True):
            score = cross_validated(alpha)
            if score > best_score + 1e-9:
                best_alpha, best_score = alpha, score
    penalty = penalty_for(np.arange(n))
    if np.isinf(best_alpha):
        return LinearFit(penalty.centre, np.inf, best_score)
    return LinearFit(solve(problem, targets, penalty, best_alpha), best_alpha, best_score)


def _srocc_or_zero(predictions: FloatArray, targets: FloatArray) -> float:
    if np.ptp(predictions) == 0:
        return 0.0
    return srocc(predictions, targets)
