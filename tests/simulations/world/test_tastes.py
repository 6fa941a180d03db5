import numpy as np

from tastevec.common.metrics import srocc
from tastevec.simulations.world.properties import FEATURES
from tastevec.simulations.world.raters import (
    crowd_opinions,
    five_point,
    half_points,
    slider,
    ten_point,
)
from tastevec.simulations.world.tastes import (
    EVERYONE,
    MAX_SHARE,
    NOTIONS,
    Population,
    notion_utilities,
    sample_person,
)


def features(count: int = 400) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(count, len(FEATURES)))


def test_every_notion_names_known_features_and_is_standardised() -> None:
    utilities = notion_utilities(features())
    assert set(utilities) == set(NOTIONS)
    for utility in utilities.values():
        assert abs(utility.mean()) < 1e-9 and abs(utility.std() - 1) < 1e-9


def test_people_mix_the_notions_with_no_share_above_the_cap() -> None:
    rng = np.random.default_rng(1)
    people = [sample_person(f"p{n}", EVERYONE, rng) for n in range(300)]
    for person in people:
        assert abs(sum(abs(w) for w in person.mix.values()) - 1) < 1e-9
        assert max(abs(w) for w in person.mix.values()) <= MAX_SHARE + 1e-9
    assert 0.04 < np.mean([p.unusual for p in people]) < 0.18
    assert all(min(p.mix.values()) < 0 for p in people if p.unusual)  # a notion reversed


def test_tastes_are_correlated_but_individual() -> None:
    f = features()
    notions = notion_utilities(f)
    rng = np.random.default_rng(2)
    population = Population("test", EVERYONE.mix, unusual_rate=0.0)
    people = [sample_person(f"p{n}", population, rng).utility(f, notions) for n in range(40)]
    pairs = [srocc(a, b) for i, a in enumerate(people) for b in people[i + 1 :]]
    assert 0.2 < float(np.mean(pairs)) < 0.8


def test_rating_scales_stay_in_range_and_follow_the_opinion() -> None:
    utility = np.linspace(-2.5, 2.5, 200)
    opinions = crowd_opinions(utility, 30, 0.8, np.random.default_rng(3))
    for scale, low, high in ((five_point, 1, 5), (half_points, 1, 5), (ten_point, 1, 10),
                             (slider, 0, 100)):  # fmt: skip
        ratings = scale(opinions)
        assert ratings.min() >= low and ratings.max() <= high
        assert srocc(utility, ratings.mean(axis=1)) > 0.95
    assert set(np.unique(half_points(opinions)) * 2 % 1) == {0.0}
