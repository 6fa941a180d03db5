import pytest
import torch

from tastevec.common.coefficient_prior import CoefficientPrior
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
