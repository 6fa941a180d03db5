"""The paired bootstrap interval of one model's SROCC gain over another's."""

import numpy as np
import pytest

from tastevec.simulations.tools.paired_bootstrap import srocc_gain_interval

Scores = tuple[np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture
def scores() -> Scores:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    good = truth + rng.normal(scale=0.3, size=200)
    poor = truth + rng.normal(scale=1.5, size=200)
    return truth, good, poor


def test_a_clearly_better_model_has_its_whole_interval_above_zero(scores: Scores) -> None:
    truth, good, poor = scores
    low, high = srocc_gain_interval(poor, good, truth, resamples=500)
    assert 0 < low < high


def test_the_reverse_comparison_is_the_mirrored_interval(scores: Scores) -> None:
    truth, good, poor = scores
    forward = srocc_gain_interval(poor, good, truth, resamples=500)
    backward = srocc_gain_interval(good, poor, truth, resamples=500)
    assert backward == pytest.approx((-forward[1], -forward[0]))


def test_a_model_against_itself_gains_nothing(scores: Scores) -> None:
    truth, good, _ = scores
    assert srocc_gain_interval(good, good, truth, resamples=100) == (0.0, 0.0)


def test_two_similar_models_straddle_zero(scores: Scores) -> None:
    truth, good, _ = scores
    rng = np.random.default_rng(1)
    other = truth + rng.normal(scale=0.3, size=200)
    low, high = srocc_gain_interval(good, other, truth, resamples=500)
    assert low < 0 < high


def test_unpaired_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="paired scores"):
        srocc_gain_interval([1, 2, 3], [1, 2], [1, 2, 3])
