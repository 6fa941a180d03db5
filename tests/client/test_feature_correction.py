"""The ridge correction on the merged model's features: its leave-one-out choice, its units,
when it declines, and the head that applies it."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tastevec.client.feature_correction import (
    ALPHAS,
    CorrectedHead,
    fit_correction,
)
from tastevec.client.fit_config import DEFAULT_FIT_CONFIG
from tastevec.client.personal_profile import Profile, load_profile, save_profile
from tastevec.common.errors import ProfileError
from tastevec.common.metrics import srocc


def person(n: int, informative: bool, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Scores, features [n, 40] and targets: targets follow the score plus, if `informative`,
    a direction in the features the score does not see."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 40)) * rng.uniform(0.5, 3.0, size=40) + 2.0
    scores = 0.5 + 0.1 * rng.normal(size=n)
    taste = 0.15 * (features[:, 3] - features[:, 7]) if informative else 0.0
    targets = scores + taste + 0.02 * rng.normal(size=n)
    return scores, features, targets


def test_too_few_ratings_or_no_spread_give_no_correction() -> None:
    scores, features, targets = person(120, informative=True)
    assert fit_correction(scores[:49], features[:49], targets[:49]) is None
    assert fit_correction(np.full(60, 0.5), features[:60], targets[:60]) is None
    assert fit_correction(scores[:60], features[:60], np.full(60, 0.3)) is None
    assert fit_correction(scores[:30], features[:30], targets[:30], from_ratings=20) is not None


def test_a_taste_the_score_misses_is_learned_and_generalises() -> None:
    scores, features, targets = person(400, informative=True)
    correction = fit_correction(scores[:100], features[:100], targets[:100])
    assert correction is not None
    plain = srocc(scores[100:], targets[100:])
    corrected = srocc(correction.apply(scores[100:], features[100:]), targets[100:])
    assert corrected > plain + 0.2, (plain, corrected)


def test_uninformative_features_leave_the_ranking_of_the_score() -> None:
    scores, features, targets = person(400, informative=False, seed=1)
    correction = fit_correction(scores[:100], features[:100], targets[:100])
    assert correction is not None
    corrected = correction.apply(scores[100:], features[100:])
    assert srocc(corrected, scores[100:]) > 0.95
    assert correction.alpha >= 10.0


def test_ratings_against_the_score_give_no_correction() -> None:
    scores, features, _ = person(100, informative=False, seed=2)
    assert fit_correction(scores, features, -scores) is None


def test_the_correction_is_in_score_units_and_centred_on_the_ratings() -> None:
    scores, features, targets = person(200, informative=True, seed=3)
    correction = fit_correction(scores, features, targets)
    assert correction is not None
    corrected = correction.apply(scores, features)
    # the score keeps a weight of one; the bias centres the added term on the rated images
    assert np.mean(features @ correction.weights + correction.bias) == pytest.approx(0, abs=1e-9)
    assert np.corrcoef(corrected, targets)[0, 1] > np.corrcoef(scores, targets)[0, 1]


def test_the_leave_one_out_choice_matches_refitting_without_each_rating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The closed-form leave-one-out errors equal n real refits, for every alpha."""
    scores, features, targets = person(60, informative=True, seed=4)
    features = features[:, :8]
    design = np.column_stack(
        [
            DEFAULT_FIT_CONFIG.score_weight * (scores - scores.mean()) / scores.std(),
            (features - features.mean(0)) / features.std(0),
        ]
    )
    brute = []
    for alpha in ALPHAS:
        errors = []
        for i in range(len(targets)):
            keep = np.arange(len(targets)) != i
            x, y = design[keep], targets[keep]
            x_mean, y_mean = x.mean(0), y.mean()
            beta = np.linalg.solve(
                (x - x_mean).T @ (x - x_mean) + alpha * np.eye(x.shape[1]),
                (x - x_mean).T @ (y - y_mean),
            )
            errors.append((targets[i] - y_mean - (design[i] - x_mean) @ beta) ** 2)
        brute.append(np.mean(errors))
    chosen = fit_correction(scores, features, targets)
    assert chosen is not None
    assert chosen.alpha == ALPHAS[int(np.argmin(brute))]


def test_the_corrected_head_adds_the_correction_to_the_score() -> None:
    head = nn.Sequential(nn.Linear(6, 1), nn.Flatten(0))
    weights = torch.tensor([0.5, -1.0, 0.0, 2.0, 0.25, -0.5])
    corrected = CorrectedHead(head, weights, bias=0.125)
    features = torch.randn(5, 6)
    with torch.no_grad():
        expected = head(features) + features @ weights + 0.125
        assert torch.allclose(corrected(features), expected, atol=1e-6)


def test_a_profile_keeps_its_correction_and_refuses_a_non_finite_one(tmp_path: Path) -> None:
    profile = Profile(
        release_id="r-0123456789abcdef",
        mode="fast",
        layout="global",
        sources=("a", "b"),
        groups=("all",),
        coefficients=((0.5, 0.5),),
        fitted_at="2026-11-30T00:00:00Z",
        ratings=60,
        correction=(0.25, -1.5, 3.0),
        correction_bias=-0.125,
    )
    save_profile(tmp_path, profile)
    assert load_profile(tmp_path, profile.release_id) == profile
    with pytest.raises(ProfileError, match="non-finite correction"):
        dataclasses.replace(profile, correction=(0.25, math.nan, 3.0))
    with pytest.raises(ProfileError, match="non-finite correction"):
        dataclasses.replace(profile, correction_bias=math.inf)
