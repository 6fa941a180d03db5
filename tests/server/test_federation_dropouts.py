"""Devices that drop out mid-round (after their keys are shared, before their masked vector):
while the survivors reach SecAgg+'s reconstruction threshold the prior still forms, from the
survivors alone; below it the round halts, nothing is published, and the run says why."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from flwr.app import Error, Message
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.simulation import run_simulation

from tastevec.client.flower_client import client_app
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.signing import load_public_key
from tastevec.server.flower_server import ROUNDS_LOG, server_app

DROPS = 3  # the partition that drops out


def dropout_mod(msg, context, call_next):  # type: ignore[no-untyped-def]
    """Partition DROPS leaves when asked for its masked vector."""
    configs = msg.content.config_records.get(RECORD_KEY_CONFIGS) if msg.has_content() else None
    stage = None if configs is None else configs.get(Key.STAGE)
    if context.node_config.get("partition-id") == DROPS and stage == Stage.COLLECT_MASKED_VECTORS:
        return Message(Error(500, "the device went away"), reply_to=msg)
    return call_next(msg, context)


def run(releases: Path, homes: Path, start: str, key: Path, trust: Path, threshold: float) -> None:
    run_simulation(
        server_app=server_app(
            releases=str(releases),
            **{
                "release-id": start,
                "key": str(key),
                "min-people": 3,
                "reconstruction-threshold": threshold,
            },
        ),
        client_app=client_app(
            homes=homes, releases=releases, trust=trust, extra_mods=[dropout_mod]
        ),
        num_supernodes=4,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )


@pytest.mark.slow
def test_the_prior_forms_from_the_survivors_and_halts_below_the_threshold(
    make_people,
    release_key: Path,
    trust: Path,  # type: ignore[no-untyped-def]
) -> None:
    # 4 sharers, one drops out: 3 survive, SecAgg+'s threshold is 2 of 4 shares
    releases, homes, start = make_people("survivors", 4, (0, 1, 2, 3))
    run(releases, homes, start, release_key, trust, threshold=0.5)
    rounds = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
    assert [(r["round"], r["people"], r["why"]) for r in rounds] == [(1, 3, None)]
    published = releases / rounds[0]["published"]
    prior = load_release_prior(
        published, verify_release(published, load_public_key(trust)), "block"
    )
    fits = [
        np.array(load_profile(Home(homes / f"person-{i}").profiles, start).coefficients)
        for i in range(4)
        if i != DROPS
    ]
    assert prior is not None and prior.people == 3
    assert torch.allclose(prior.mean, torch.tensor(np.stack(fits)).mean(0).float(), atol=1e-4)
    assert not (Home(homes / f"person-{DROPS}").profiles / f"{start}.json").exists()

    # every share needed: the dropout halts the round; nothing is published, and it says why
    releases, homes, start = make_people("halted", 4, (0, 1, 2, 3))
    run(releases, homes, start, release_key, trust, threshold=1.0)
    rounds = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
    assert len(rounds) == 1 and rounds[0]["published"] is None
    assert "reconstruction threshold" in rounds[0]["why"]
    assert sorted(p.name for p in releases.iterdir()) == sorted([start, ROUNDS_LOG])
