"""Greedy D-optimal choice over the task vectors' disagreement."""

from __future__ import annotations

import numpy as np
import pytest

from tastevec.client import active_selection as sel


def brute_force(candidates: np.ndarray, rated: np.ndarray, count: int) -> list[int]:
    chosen: list[int] = []
    done = rated.copy()
    for _ in range(count):
        gains = [
            -np.inf if i in chosen else sel.log_det_gain(c, done) for i, c in enumerate(candidates)
        ]
        best = int(np.argmax(gains))
        chosen.append(best)
        done = np.vstack([done, candidates[best]])
    return chosen


@pytest.mark.parametrize("seed", range(5))
def test_each_pick_adds_most_to_log_det(seed: int) -> None:
    rng = np.random.default_rng(seed)
    candidates = rng.normal(0, 0.05, (40, 6))
    rated = rng.normal(0, 0.05, (seed, 6))
    assert sel.choose(candidates, rated, 8) == brute_force(candidates, rated, 8)


def test_agreement_teaches_nothing_and_a_batch_spreads_over_directions() -> None:
    k = 3
    candidates = np.array(
        [
            [0.0, 0.0, 0.0],  # every task vector agrees with the model
            [0.10, 0.0, 0.0],
            [0.11, 0.0, 0.0],  # the same direction as the one before, a little stronger
            [0.0, 0.06, 0.0],
        ]
    )
    picks = sel.choose(candidates, np.zeros((0, k)), 3)
    assert picks[0] == 2  # the strongest disagreement first
    assert picks[1] == 3  # then a new direction, not the near-copy of the first
    assert 0 not in picks
    # what the ratings explored already counts: with x rated, y comes first
    assert sel.choose(candidates, np.array([[0.2, 0.0, 0.0]]), 1) == [3]


def test_disagreement_is_own_minus_merged() -> None:
    own = np.array([[0.5, 0.7], [0.2, 0.2]])
    merged = np.array([0.6, 0.2])
    np.testing.assert_allclose(sel.disagreement(own, merged), [[-0.1, 0.1], [0.0, 0.0]])
    with pytest.raises(ValueError, match="do not match"):
        sel.disagreement(own, np.array([0.1]))


def test_asks_for_no_more_than_there_are() -> None:
    assert sorted(sel.choose(np.eye(3), np.zeros((0, 3)), 10)) == [0, 1, 2]
    assert sel.choose(np.zeros((0, 3)), np.zeros((0, 3)), 4) == []
    with pytest.raises(ValueError, match="ridge"):
        sel.choose(np.eye(3), np.zeros((0, 3)), 1, ridge=0.0)
