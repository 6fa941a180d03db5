import numpy as np

from tastevec.simulations.world.card import split_half_agreement


def test_raters_who_agree_score_near_one_and_random_raters_near_zero() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=300)
    agreeing = [t + rng.normal(0, 0.1, size=10) for t in truth]
    random = [rng.normal(size=10) for _ in truth]
    assert split_half_agreement(agreeing) > 0.98
    assert abs(split_half_agreement(random) or 0.0) < 0.2


def test_too_few_images_with_two_raters_give_no_figure() -> None:
    assert split_half_agreement([np.array([3.0]), np.array([1.0, 2.0])]) is None
