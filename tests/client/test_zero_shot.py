"""The paper's starting point and its tempered form for few ratings."""

import math

import numpy as np
import pytest

from tastevec.client.fast_fit import own_start
from tastevec.client.zero_shot import INIT_TEMPERATURE, start_temperature

OWN = np.array([[0.1, 0.9], [0.5, 0.2], [0.9, 0.4]])  # vector 0 ranks the three right
TARGETS = np.array([1.0, 2.0, 3.0])


def test_the_temperature_is_the_papers_at_zero_and_tempers_with_few_ratings() -> None:
    assert start_temperature(5, 0.0) == INIT_TEMPERATURE
    assert start_temperature(10, 10.0) == pytest.approx(INIT_TEMPERATURE / 2)
    assert start_temperature(5, math.inf) == 0.0
    assert start_temperature(0, 3.0) == 0.0
    assert start_temperature(5, 10.0) < start_temperature(100, 10.0) < INIT_TEMPERATURE


def test_the_tempered_start_lies_between_the_papers_and_the_plain_average() -> None:
    paper = own_start(OWN, TARGETS, 1, start_ratings=0.0)
    tempered = own_start(OWN, TARGETS, 1, start_ratings=3.0)  # t = 10 x 3 / 6 = 5
    plain = own_start(OWN, TARGETS, 2, start_ratings=math.inf)
    assert np.allclose(plain, 0.5) and plain.shape == (4,)
    assert paper[0] > tempered[0] > 0.5
    assert paper.sum() == pytest.approx(1.0) and tempered.sum() == pytest.approx(1.0)
