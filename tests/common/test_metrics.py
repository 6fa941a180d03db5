"""Tests for tastevec.common.metrics: golden values, scipy agreement, degenerate inputs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
import scipy.stats
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tastevec.common import metrics
from tastevec.common.errors import MetricError, TastevecError
from tastevec.common.metrics import krcc, pairwise_accuracy, plcc, srocc

Metric = Callable[[npt.ArrayLike, npt.ArrayLike], float]
ALL_METRICS: list[Metric] = [srocc, plcc, krcc, pairwise_accuracy]
CORRELATIONS: list[Metric] = [srocc, plcc, krcc]
FloatArray = npt.NDArray[np.float64]

# Small integer sets force many ties; bounded floats without subnormals stay well conditioned.
_ELEMENTS = [
    st.integers(0, 2),
    st.integers(-5, 5),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False),
]


@st.composite
def score_pairs(draw: st.DrawFn, min_size: int = 2, max_size: int = 40) -> tuple[FloatArray, ...]:
    n = draw(st.integers(min_size, max_size))
    pred = draw(st.lists(draw(st.sampled_from(_ELEMENTS)), min_size=n, max_size=n))
    target = draw(st.lists(draw(st.sampled_from(_ELEMENTS)), min_size=n, max_size=n))
    return np.array(pred, dtype=np.float64), np.array(target, dtype=np.float64)


def _distinct(n: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(-1000, 1000), min_size=n, max_size=n, unique=True)


def _constant(x: FloatArray) -> bool:
    return bool(np.all(x == x[0]))


def _well_conditioned(x: FloatArray) -> bool:
    """Spread not lost in the offset: scipy and we would both be inexact otherwise."""
    return float(np.ptp(x)) > 1e-6 * float(np.max(np.abs(x)))


def _scipy(fn: Callable[..., object], x: FloatArray, y: FloatArray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(x, y).statistic)  # type: ignore[attr-defined]


def _brute_pairwise_accuracy(pred: FloatArray, target: FloatArray) -> float:
    score, pairs = 0.0, 0
    for i in range(len(pred)):
        for j in range(i + 1, len(pred)):
            if target[i] == target[j]:
                continue
            pairs += 1
            if pred[i] == pred[j]:
                score += 0.5
            elif (pred[i] < pred[j]) == (target[i] < target[j]):
                score += 1.0
    return 0.5 if pairs == 0 else score / pairs


# --- golden values ---------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_perfect_agreement_and_reversal(metric: Metric) -> None:
    target = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert metric([2.0, 4.0, 6.0, 8.0, 10.0], target) == 1.0
    low = 0.0 if metric is pairwise_accuracy else -1.0
    assert metric([5.0, 4.0, 3.0, 2.0, 1.0], target) == low


def test_one_swap_golden_values() -> None:
    pred, target = [1.0, 2.0, 3.0], [1.0, 3.0, 2.0]
    # Centred [-1, 0, 1] . [-1, 1, 0] = 1 over norms sqrt(2) * sqrt(2).
    assert plcc(pred, target) == pytest.approx(0.5, abs=1e-15)
    # Values are their own ranks: 1 - 6 * (0 + 1 + 1) / (3 * (9 - 1)) = 0.5.
    assert srocc(pred, target) == pytest.approx(0.5, abs=1e-15)
    # 2 concordant, 1 discordant, no ties: (2 - 1) / 3.
    assert krcc(pred, target) == pytest.approx(1 / 3, abs=1e-15)
    assert pairwise_accuracy(pred, target) == pytest.approx(2 / 3, abs=1e-15)


def test_tie_golden_values() -> None:
    pred, target = [1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 3.0, 3.0]
    # Pairs: (0,1) (0,2) (0,3) (1,3) concordant; (1,2) tied in pred; (2,3) tied in target.
    # tau-b = (4 - 0) / sqrt((6 - 1) * (6 - 1)) = 0.8.
    assert krcc(pred, target) == pytest.approx(0.8, abs=1e-15)
    assert scipy.stats.kendalltau(pred, target).statistic == pytest.approx(0.8, abs=1e-15)
    # Ranks [1, 2.5, 2.5, 4] and [1, 2, 3.5, 3.5], centred dot 3.75 over norms^2 4.5 each.
    assert srocc(pred, target) == pytest.approx(5 / 6, abs=1e-15)
    assert scipy.stats.spearmanr(pred, target).statistic == pytest.approx(5 / 6, abs=1e-15)
    # Five pairs have differing targets: four agree, one is a pred tie: (4 + 0.5) / 5.
    assert pairwise_accuracy(pred, target) == pytest.approx(0.9, abs=1e-15)


# --- agreement with scipy ------------------------------------------------------------------

_TOL = 1e-9


@settings(max_examples=200, deadline=None)
@given(score_pairs())
def test_srocc_matches_scipy(xy: tuple[FloatArray, FloatArray]) -> None:
    x, y = xy
    assume(not _constant(x) and not _constant(y))
    assert srocc(x, y) == pytest.approx(_scipy(scipy.stats.spearmanr, x, y), abs=_TOL)


@settings(max_examples=200, deadline=None)
@given(score_pairs())
def test_plcc_matches_scipy(xy: tuple[FloatArray, FloatArray]) -> None:
    x, y = xy
    assume(not _constant(x) and not _constant(y))
    assume(_well_conditioned(x) and _well_conditioned(y))
    assert plcc(x, y) == pytest.approx(_scipy(scipy.stats.pearsonr, x, y), abs=_TOL)


@settings(max_examples=200, deadline=None)
@given(score_pairs())
def test_krcc_matches_scipy(xy: tuple[FloatArray, FloatArray]) -> None:
    x, y = xy
    assume(not _constant(x) and not _constant(y))
    assert krcc(x, y) == pytest.approx(_scipy(scipy.stats.kendalltau, x, y), abs=_TOL)


@settings(max_examples=200, deadline=None)
@given(score_pairs())
def test_results_are_floats_in_range(xy: tuple[FloatArray, FloatArray]) -> None:
    x, y = xy
    for metric in CORRELATIONS:
        value = metric(x, y)
        assert type(value) is float and -1.0 <= value <= 1.0
    value = pairwise_accuracy(x, y)
    assert type(value) is float and 0.0 <= value <= 1.0


# --- pairwise accuracy -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(score_pairs())
def test_pairwise_accuracy_matches_brute_force(xy: tuple[FloatArray, FloatArray]) -> None:
    x, y = xy
    assert pairwise_accuracy(x, y) == pytest.approx(_brute_pairwise_accuracy(x, y), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(score_pairs())
def test_pairwise_accuracy_self_and_reversed(xy: tuple[FloatArray, FloatArray]) -> None:
    _, t = xy
    assume(not _constant(t))
    assert pairwise_accuracy(t, t) == 1.0
    assert pairwise_accuracy(-t, t) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 40).flatmap(lambda n: st.tuples(_distinct(n), _distinct(n))))
def test_pairwise_accuracy_is_half_of_one_plus_tau_without_ties(
    xy: tuple[list[int], list[int]],
) -> None:
    x, y = np.array(xy[0], dtype=np.float64), np.array(xy[1], dtype=np.float64)
    tau = _scipy(scipy.stats.kendalltau, x, y)  # tau-a = tau-b without ties
    assert pairwise_accuracy(x, y) == pytest.approx((1 + tau) / 2, abs=1e-12)


@pytest.mark.parametrize("cells", [1, 37, 200])
def test_chunking_matches_brute_force(monkeypatch: pytest.MonkeyPatch, cells: int) -> None:
    rng = np.random.default_rng(cells)
    x = rng.integers(0, 6, 53).astype(np.float64)
    y = rng.integers(0, 4, 53).astype(np.float64)
    expected_tau = _scipy(scipy.stats.kendalltau, x, y)
    monkeypatch.setattr(metrics, "_CHUNK_CELLS", cells)
    assert krcc(x, y) == pytest.approx(expected_tau, abs=1e-12)
    assert pairwise_accuracy(x, y) == pytest.approx(_brute_pairwise_accuracy(x, y), abs=1e-12)


def test_large_input_matches_chunk_free_reference() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    x = np.round(rng.normal(size=n), 1)  # many ties
    y = rng.integers(1, 11, n) + np.round(0.5 * x)
    assert krcc(x, y) == pytest.approx(_scipy(scipy.stats.kendalltau, x, y), abs=1e-12)
    # All ordered pairs at once; each unordered pair appears twice, which leaves ratios alone.
    sx = np.sign(x[None, :] - x[:, None]).astype(np.int8)
    sy = np.sign(y[None, :] - y[:, None]).astype(np.int8)
    differing = sy != 0
    agree = np.count_nonzero((sx == sy) & differing) + 0.5 * np.count_nonzero((sx == 0) & differing)
    expected = agree / np.count_nonzero(differing)
    assert pairwise_accuracy(x, y) == pytest.approx(expected, abs=1e-12)


# --- degenerate inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], "pred has 3 items but target has 4"),
        ([1.0], [2.0], "needs at least 2 items, got 1"),
        ([], [], "needs at least 2 items, got 0"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, math.nan], "target contains NaN or infinity at index 2"),
        ([1.0, math.inf, 3.0], [1.0, 2.0, 3.0], "pred contains NaN or infinity at index 1"),
        ([1.0, 2.0, -math.inf], [1.0, 2.0, 3.0], "pred contains NaN or infinity at index 2"),
        (np.ones((2, 2)), np.ones((2, 2)), r"pred must be 1-D, got shape \(2, 2\)"),
        (3.0, 4.0, r"pred must be 1-D, got shape \(\)"),
        ([1.0, 2.0], ["a", "b"], "target must hold real numbers"),
        ([1 + 1j, 2.0], [1.0, 2.0], "pred must hold real numbers"),
        ([[1.0], [2.0, 3.0]], [1.0, 2.0], "pred is not an array of real numbers"),
    ],
)
def test_invalid_inputs_raise(metric: Metric, pred: object, target: object, message: str) -> None:
    with pytest.raises(MetricError, match=message) as info:
        metric(pred, target)  # type: ignore[arg-type]
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(metric.__name__)
    assert isinstance(info.value, TastevecError)


def test_tensor_needing_grad_raises() -> None:
    with pytest.raises(MetricError, match="plcc: pred is not an array of real numbers"):
        plcc(torch.ones(3, requires_grad=True), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("metric", CORRELATIONS)
@pytest.mark.parametrize(
    ("pred", "target"),
    [
        ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]),
        ([1.0, 2.0, 3.0], [0.1, 0.1, 0.1]),
        ([5.0, 5.0], [5.0, 5.0]),
        ([1e308, 1e308, 1e308], [-1.0, 0.0, 1.0]),
    ],
)
def test_constant_input_gives_zero_without_warning(
    metric: Metric, pred: list[float], target: list[float]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metric(pred, target) == 0.0


def test_pairwise_accuracy_without_ranking_information_is_chance() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pairwise_accuracy([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]) == 0.5
        assert pairwise_accuracy([3.0, 3.0, 3.0], [1.0, 2.0, 3.0]) == 0.5


def test_extreme_magnitudes_do_not_overflow() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plcc([1.7e308, 1.7e308, -1.7e308], [1.0, 1.0, -1.0]) == pytest.approx(1.0)
        assert plcc([1e-310, 2e-310, 3e-310], [1.0, 2.0, 3.0]) == pytest.approx(1.0)


# --- input types -----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ALL_METRICS)
def test_accepts_lists_arrays_and_tensors(metric: Metric) -> None:
    pred = [0.3, 0.1, 0.4, 0.1, 0.5, 0.9]
    target = [3, 1, 4, 1, 5, 9]
    expected = metric(pred, target)
    assert metric(np.array(pred), np.array(target)) == expected
    assert metric(np.array(pred, dtype=np.float32), np.array(target, dtype=np.int64)) == (
        pytest.approx(expected, abs=1e-12)
    )
    assert metric(torch.tensor(pred, dtype=torch.float64), torch.tensor(target)) == expected
    assert metric(torch.tensor(pred), target) == pytest.approx(expected, abs=1e-6)
    as_bool = np.array(target) > 3
    assert metric(tuple(pred), as_bool) == metric(pred, as_bool.astype(np.float64).tolist())
