"""What a device shares for the prior: checked against SecAgg+'s clipping range (refused, never
clipped), and read back from a secure mean as the cohort's sums."""

import numpy as np
import pytest
import torch

from tastevec.common.coefficient_prior import CoefficientSums
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import StatisticsError
from tastevec.common.shared_statistics import (
    StatisticsEncoding,
    decode_sums,
    encode_statistics,
    largest_encoded,
)


def test_values_are_scaled_and_read_back_as_sums() -> None:
    fits = np.random.default_rng(0).normal(0.3, 0.5, (5, 2, 6))
    encoding = StatisticsEncoding(clipping_range=8.0, scale=2.0)
    sent = [encode_statistics(f, encoding) for f in fits]
    mean = [np.mean([s[i] for s in sent], 0) for i in range(2)]
    sums = decode_sums(mean, 5, CoefficientLayout.BLOCK, encoding)
    expected = CoefficientSums.of(CoefficientLayout.BLOCK, torch.from_numpy(fits))
    assert sums.people == 5
    assert torch.allclose(sums.total, expected.total) and torch.allclose(
        sums.squares, expected.squares
    )


def test_a_value_beyond_the_clipping_range_is_refused_not_clipped() -> None:
    big = np.full((1, 6), 0.5)
    big[0, 2] = 3.0  # its square, 9, is beyond 8
    assert largest_encoded(big, StatisticsEncoding()) > 1
    with pytest.raises(StatisticsError, match="would be clipped"):
        encode_statistics(big, StatisticsEncoding())
    assert largest_encoded(big, StatisticsEncoding(scale=2.0)) < 1
    assert len(encode_statistics(big, StatisticsEncoding(scale=2.0))) == 2
    with pytest.raises(StatisticsError, match="finite"):
        encode_statistics(np.full((1, 6), np.nan), StatisticsEncoding())
    with pytest.raises(StatisticsError, match="must be > 0"):
        StatisticsEncoding(scale=0.0)
    with pytest.raises(StatisticsError, match="two arrays"):
        decode_sums([np.zeros((1, 6))], 3, CoefficientLayout.GLOBAL, StatisticsEncoding())
