"""Differential privacy on the shared statistics, end to end in a real in-process simulation
(Ray) of 4 simulated people on the small world, 3 sharing: each device clips its vector and
adds its share of Gaussian noise before SecAgg+, so the published prior is the clipped
clear-text mean plus noise of the stated scale, and the run's epsilon from Flower's RDP
accountant is written to the published release and the rounds file."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from dp_accounting import GaussianDpEvent
from dp_accounting.rdp import RdpAccountant
from flwr.simulation import run_simulation

from tastevec.client.flower_client import client_app
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.signing import load_public_key
from tastevec.server.flower_server import ROUNDS_LOG, server_app
from tastevec.server.privacy_accounting import PrivacyBudget

SHARING = (0, 1, 2)
NOISE_MULTIPLIER = 2.0
CLIPPING_NORM = 0.5
DELTA = 1e-5


@pytest.mark.slow
def test_dp_prior_is_the_clipped_clear_mean_plus_noise_of_the_stated_scale(
    federation,  # type: ignore[no-untyped-def]
    release_key: Path,
    trust: Path,
) -> None:
    releases, homes, start = federation
    run_simulation(
        server_app=server_app(
            releases=str(releases),
            **{
                "release-id": start,
                "key": str(release_key),
                "rounds": 1,
                "dp-noise-multiplier": NOISE_MULTIPLIER,
                "dp-clipping-norm": CLIPPING_NORM,
                "dp-delta": DELTA,
            },
        ),
        client_app=client_app(homes=homes, releases=releases, trust=trust),
        num_supernodes=4,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )
    (record,) = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
    assert record["people"] == 3 and record["why"] is None
    published = releases / record["published"]
    manifest = verify_release(published, load_public_key(trust))
    prior = load_release_prior(published, manifest, "block")
    assert prior is not None and prior.people == 3

    # the clipped clear-text sum of the same fits, as each device clipped it
    clipped = []
    for index in SHARING:
        fit = np.array(load_profile(Home(homes / f"person-{index}").profiles, start).coefficients)
        norm = math.sqrt(float((fit**2).sum() + (fit**4).sum()))
        clipped.append(fit * min(1.0, CLIPPING_NORM / norm))
    clear_sum = np.stack(clipped).sum(0)
    noise = prior.mean.double().numpy() * 3 - clear_sum  # the noise of the cohort's sum
    stated = NOISE_MULTIPLIER * CLIPPING_NORM
    assert noise.size >= 30
    assert 0.6 * stated < float(noise.std()) < 1.5 * stated, (noise.std(), stated)
    assert abs(float(noise.mean())) < 4 * stated / math.sqrt(noise.size)

    # epsilon: Flower's RDP accountant, as Google's dp-accounting computes it directly
    direct = RdpAccountant()
    direct.compose(GaussianDpEvent(NOISE_MULTIPLIER))
    expected = direct.get_epsilon(DELTA)
    assert manifest.notes["dp_epsilon"] == pytest.approx(expected, rel=1e-6)
    assert record["dp_epsilon"] == manifest.notes["dp_epsilon"]
    assert manifest.notes["dp_delta"] == DELTA
    assert manifest.notes["dp_noise_multiplier"] == NOISE_MULTIPLIER


def test_privacy_budget_counts_lost_noise_and_composes_rounds() -> None:
    budget = PrivacyBudget(2.0, DELTA)
    one = budget.spend(cohort=10, survivors=10)
    two = budget.spend(cohort=10, survivors=10)
    assert 0 < one < two < 2 * one  # composition: more than one round, less than twice
    dropped = PrivacyBudget(2.0, DELTA)
    assert dropped.effective_multiplier(9, 6) == pytest.approx(2.0 * math.sqrt(6 / 9))
    assert dropped.spend(cohort=9, survivors=6) > one  # survivors' noise only: less privacy
