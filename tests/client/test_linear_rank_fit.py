"""The convex fit on linearised scores: correct gradients, recovery, penalty and trust region."""

import numpy as np
import pytest
from scipy.optimize import check_grad

from tastevec.client import linear_rank_fit as lrf
from tastevec.client.fit_config import DEFAULT_FIT_CONFIG
from tastevec.common.errors import FitError
from tastevec.common.metrics import srocc


def planted(n: int = 60, p: int = 12, seed: int = 0) -> tuple[lrf.LinearProblem, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, p))
    truth = rng.normal(size=p) * 0.2
    problem = lrf.LinearProblem(rng.normal(size=n) * 0.01, features, np.zeros(p))
    return problem, features @ truth


def test_the_objective_gradient_matches_finite_differences() -> None:
    problem, targets = planted()
    penalty = lrf.Penalty(np.full(12, 0.1), np.linspace(0.5, 2, 12))
    objective = lrf.objective(problem, targets, penalty, 0.3)
    for seed in range(3):
        x = np.random.default_rng(seed).normal(size=12)
        error = check_grad(lambda v: objective(v)[0], lambda v: objective(v)[1], x)
        assert error < 1e-5 * max(1.0, float(np.linalg.norm(objective(x)[1])))


def test_the_solution_is_a_stationary_point() -> None:
    problem, targets = planted()
    penalty = lrf.Penalty(np.zeros(12), np.ones(12))
    solved = lrf.solve(problem, targets, penalty, 0.3)
    assert np.abs(lrf.objective(problem, targets, penalty, 0.3)(solved)[1]).max() < 1e-4


def test_a_planted_ranking_is_recovered_on_held_out_items() -> None:
    problem, targets = planted(n=200)
    train = np.arange(120)
    held = np.arange(120, 200)
    sub = lrf.LinearProblem(problem.base_scores[train], problem.features[train], problem.expansion)
    fit = lrf.fit(sub, targets[train], lambda rows: lrf.Penalty(np.zeros(12), np.ones(12)))
    assert srocc(problem.predict(fit.coefficients, held), targets[held]) > 0.9
    assert fit.cv_srocc > 0.8


def test_a_strong_penalty_stays_at_the_centre_and_the_radius_holds() -> None:
    problem, targets = planted()
    centre = np.full(12, 0.5)
    pulled = lrf.solve(problem, targets, lrf.Penalty(centre, np.ones(12)), 1e6)
    assert np.abs(pulled - centre).max() < 1e-3
    bounded = lrf.solve(problem, targets, lrf.Penalty(centre, np.ones(12), 0.05), 1e-6)
    assert np.abs(bounded - centre).max() <= 0.05 + 1e-9
    assert np.abs(bounded - centre).max() > 0.04  # the unconstrained optimum lies further out


def test_cross_validation_prefers_the_centre_when_ratings_are_noise() -> None:
    problem, _ = planted()
    noise = np.random.default_rng(5).normal(size=60)
    fit = lrf.fit(problem, noise, lambda rows: lrf.Penalty(np.zeros(12), np.ones(12)))
    assert fit.alpha >= 1.0


def test_each_fold_gets_its_own_centre_and_the_centre_can_win() -> None:
    problem, targets = planted()
    seen: list[int] = []

    def penalty_for(rows: np.ndarray) -> lrf.Penalty:
        seen.append(len(rows))
        return lrf.Penalty(np.zeros(12), np.ones(12))

    lrf.fit(problem, targets, penalty_for)
    assert seen == [48] * 5 + [60]  # five training folds, then all ratings
    exact = lrf.LinearProblem(np.zeros(60), problem.features, np.zeros(12))
    truth = exact.features @ np.linspace(-1, 1, 12)  # the centre ranks perfectly: no fit beats it
    kept = lrf.fit(exact, truth, lambda rows: lrf.Penalty(np.linspace(-1, 1, 12), np.ones(12)))
    assert np.isinf(kept.alpha)
    assert np.array_equal(kept.coefficients, np.linspace(-1, 1, 12))


def test_below_step_from_the_centre_is_kept_even_where_a_step_would_help() -> None:
    problem, targets = planted(n=40)
    centre = np.zeros(12)
    few = lrf.fit(problem, targets, lambda rows: lrf.Penalty(centre, np.ones(12)))
    assert len(targets) < DEFAULT_FIT_CONFIG.step_from_ratings
    assert np.isinf(few.alpha) and np.array_equal(few.coefficients, centre)
    allowed = lrf.fit(problem, targets, lambda rows: lrf.Penalty(centre, np.ones(12)), step_from=40)
    assert np.isfinite(allowed.alpha) and allowed.cv_srocc > few.cv_srocc


def test_below_step_from_a_finite_alpha_steps_and_a_stronger_one_stays_closer() -> None:
    problem, targets = planted(n=20)
    centre = np.zeros(12)

    def penalty_for(rows: np.ndarray) -> lrf.Penalty:
        return lrf.Penalty(centre, np.ones(12))

    weak = lrf.fit(problem, targets, penalty_for, alpha_below=0.01)
    strong = lrf.fit(problem, targets, penalty_for, alpha_below=10.0)
    assert weak.alpha == 0.01 and strong.alpha == 10.0
    assert np.array_equal(weak.coefficients, lrf.solve(problem, targets, penalty_for(centre), 0.01))
    assert 0 < np.linalg.norm(strong.coefficients) < np.linalg.norm(weak.coefficients)
    assert weak.cv_srocc > 0.5  # the planted ranking, out of fold


def test_a_full_precision_matrix_has_the_right_gradient() -> None:
    problem, targets = planted()
    root = np.random.default_rng(5).normal(size=(12, 12))
    penalty = lrf.Penalty(np.full(12, 0.1), root @ root.T / 12 + np.eye(12))
    objective = lrf.objective(problem, targets, penalty, 0.3)
    for seed in range(3):
        x = np.random.default_rng(seed).normal(size=12)
        error = check_grad(lambda v: objective(v)[0], lambda v: objective(v)[1], x)
        assert error < 1e-5 * max(1.0, float(np.linalg.norm(objective(x)[1])))


def test_a_diagonal_precision_matrix_fits_as_its_vector_does() -> None:
    problem, targets = planted()
    centre, precision = np.full(12, 0.05), np.linspace(0.5, 2, 12)
    as_vector = lrf.fit(problem, targets, lambda rows: lrf.Penalty(centre, precision, 0.3))
    as_matrix = lrf.fit(problem, targets, lambda rows: lrf.Penalty(centre, np.diag(precision), 0.3))
    assert np.isfinite(as_vector.alpha) and as_vector.alpha == as_matrix.alpha
    np.testing.assert_allclose(as_matrix.coefficients, as_vector.coefficients, atol=1e-6)


def test_correlated_precision_pulls_coefficients_together() -> None:
    problem, targets = planted()
    centre = np.zeros(12)
    tied = np.eye(12)
    tied[0, 1] = tied[1, 0] = -0.95  # coefficients 0 and 1 vary together in the population
    free = lrf.solve(problem, targets, lrf.Penalty(centre, np.ones(12)), 10.0)
    pulled = lrf.solve(problem, targets, lrf.Penalty(centre, tied), 10.0)
    assert abs(pulled[0] - pulled[1]) < abs(free[0] - free[1])


def test_a_precision_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(FitError, match=r"penalty precision \(12, 3\)"):
        lrf.Penalty(np.zeros(12), np.ones((12, 3)))
