"""The ServerApp's run config: SecAgg+'s share counts keep Flower's two forms (an int is a
count, a float a fraction), and a missing essential is one line."""

import pytest

from tastevec.common.errors import TastevecError
from tastevec.server.flower_server import FederationSettings

ESSENTIALS = {"releases": "/r", "release-id": "r-1", "key": "/k"}


def test_share_counts_stay_counts_and_fractions_stay_fractions() -> None:
    counts = FederationSettings.from_config(
        {"num-shares": 20, "reconstruction-threshold": 10}, ESSENTIALS
    )
    assert (counts.num_shares, counts.reconstruction_threshold) == (20, 10)
    assert type(counts.num_shares) is int and type(counts.reconstruction_threshold) is int
    fractions = FederationSettings.from_config(
        {"num-shares": 1.0, "reconstruction-threshold": 0.6}, ESSENTIALS
    )
    assert type(fractions.num_shares) is float and fractions.reconstruction_threshold == 0.6
    assert type(FederationSettings.from_config({"rounds": 3.0}, ESSENTIALS).rounds) is int


def test_a_missing_essential_is_named() -> None:
    with pytest.raises(TastevecError, match="run config release-id is not set"):
        FederationSettings.from_config({}, {"releases": "/r", "key": "/k"})
