import pytest
import torch

from tastevec.common.coefficient_prior import (
    VARIANCE_FLOOR,
    CoefficientPrior,
    CoefficientSums,
    population_prior,
)
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import ReleaseError


def test_a_prior_round_trips_through_bytes() -> None:
    prior = CoefficientPrior(
        CoefficientLayout.BLOCK, torch.rand(4, 6), torch.rand(4, 6) + 0.1, people=17
    )
    again = CoefficientPrior.from_bytes(prior.to_bytes(), origin="test")
    assert again.layout is CoefficientLayout.BLOCK and again.people == 17
    assert torch.equal(again.mean, prior.mean) and torch.equal(again.variance, prior.variance)
    assert prior.to_bytes() == again.to_bytes()


def test_bad_priors_are_refused() -> None:
    with pytest.raises(ReleaseError, match="positive variances"):
        CoefficientPrior(CoefficientLayout.GLOBAL, torch.zeros(1, 6), torch.zeros(1, 6))
    with pytest.raises(ReleaseError, match="same"):
        CoefficientPrior(CoefficientLayout.GLOBAL, torch.zeros(1, 6), torch.ones(2, 6))
    with pytest.raises(ReleaseError, match="blob: not a coefficient prior"):
        CoefficientPrior.from_bytes(b"garbage" * 4, origin="blob")


def test_the_prior_from_sums_is_the_mean_and_sample_variance_of_the_fits() -> None:
    fits = torch.randn(9, 3, 6, generator=torch.Generator().manual_seed(0)) * 0.2 + 0.3
    fits[:, 0, 0] = 0.5  # everyone agrees on one coefficient: its spread is the floor
    halves = CoefficientSums.of(CoefficientLayout.BLOCK, fits[:4]) + CoefficientSums.of(
        CoefficientLayout.BLOCK, fits[4:]
    )
    prior = population_prior(halves)
    assert prior.people == 9 and prior.layout is CoefficientLayout.BLOCK
    assert torch.allclose(prior.mean, fits.mean(0), atol=1e-6)
    assert torch.allclose(prior.variance, fits.var(0).clamp_min(VARIANCE_FLOOR), atol=1e-6)
    assert prior.variance[0, 0] == pytest.approx(VARIANCE_FLOOR)


def test_sums_that_cannot_make_a_prior_are_refused() -> None:
    one = CoefficientSums.of(CoefficientLayout.GLOBAL, torch.ones(1, 1, 6))
    with pytest.raises(ReleaseError, match="at least 2 people"):
        population_prior(one)
    with pytest.raises(ReleaseError, match="do not add"):
        one + CoefficientSums.of(CoefficientLayout.BLOCK, torch.ones(1, 1, 6))
    with pytest.raises(ReleaseError, match="same"):
        CoefficientSums(CoefficientLayout.GLOBAL, 1, torch.ones(1, 6), torch.ones(2, 6))
