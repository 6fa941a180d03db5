"""The Flower apps end to end, in a real in-process simulation (Ray) of 4 simulated people on
the small world: 3 share, 1 does not. The published prior is the clear-text mean and spread of
the sharers' fits, signed, as a new release sharing every blob with the old one; nothing was
clipped; the opted-out device sent no key, vector or count; what the others sent holds only
masked integers, no coefficient."""

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from flwr.simulation import run_simulation

from tastevec.client.flower_client import NOT_SHARING, client_app
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.common.release import BLOB_DIR, verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.shared_statistics import StatisticsEncoding, largest_encoded
from tastevec.common.signing import load_public_key
from tastevec.server.flower_server import ROUNDS_LOG, server_app

PEOPLE = 4
SHARING = (0, 1, 2)  # person 3 keeps sharing off


def capture_mod(folder: Path):  # type: ignore[no-untyped-def]
    """Writes down what each reply that leaves the device holds (runs outside every mod)."""

    def mod(msg, context, call_next):  # type: ignore[no-untyped-def]
        reply = call_next(msg, context)
        seen: dict[str, object] = {"error": reply.has_error()}
        if reply.has_content():
            content = reply.content
            seen["arrays"] = {k: len(v) for k, v in content.array_records.items()}
            seen["metrics"] = {k: dict(v) for k, v in content.metric_records.items()}
            seen["configs"] = {
                k: {name: type(value).__name__ for name, value in v.items()}
                for k, v in content.config_records.items()
            }
            seen["floats"] = [
                value
                for record in content.config_records.values()
                for value in record.values()
                if isinstance(value, float)
            ]
        with (folder / f"node-{context.node_id}.jsonl").open("a") as handle:
            handle.write(json.dumps(seen) + "\n")
        return reply

    return mod


@pytest.mark.slow
def test_secure_aggregation_publishes_the_clear_text_prior_and_opted_out_devices_send_nothing(
    federation,  # type: ignore[no-untyped-def]
    release_key: Path,
    trust: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    releases, homes, start = federation
    captured = tmp_path / "captured"
    captured.mkdir()
    os.environ["RAY_DEDUP_LOGS"] = "0"
    run_simulation(
        server_app=server_app(
            releases=str(releases),
            **{"release-id": start, "key": str(release_key), "min-people": 3, "rounds": 2},
        ),
        client_app=client_app(
            homes=homes, releases=releases, trust=trust, extra_mods=[capture_mod(captured)]
        ),
        num_supernodes=PEOPLE,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )
    rounds = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
    assert [(r["round"], r["people"], r["why"]) for r in rounds] == [(1, 3, None), (2, 3, None)]
    first, second = (r["published"] for r in rounds)
    published = releases / first
    manifest = verify_release(published, load_public_key(trust))
    assert manifest.notes["prior_of"] == start
    prior = load_release_prior(published, manifest, "block")
    assert prior is not None and prior.people == 3

    # the clear-text statistics of the same fits: each sharer's saved profile of the round
    fits = []
    for index in SHARING:
        home = Home(homes / f"person-{index}")
        fits.append(np.array(load_profile(home.profiles, start).coefficients))
    clear = torch.tensor(np.stack(fits))
    assert torch.allclose(prior.mean, clear.mean(0).float(), atol=1e-4)
    assert torch.allclose(prior.variance, clear.var(0).clamp_min(1e-4).float(), atol=1e-4)
    encoding = StatisticsEncoding()
    assert max(largest_encoded(f, encoding) for f in fits) < 1.0  # nothing reached the clip
    assert float((clear.mean(0) - prior.mean).abs().max()) > 0  # masked, quantized: not a copy

    # every blob but the prior is the old release's own file (hard-linked: a small delta)
    old = {p.name: p.stat().st_ino for p in (releases / start / BLOB_DIR).iterdir()}
    new = {p.name: p.stat().st_ino for p in (published / BLOB_DIR).iterdir()}
    assert set(new) - set(old) == {manifest.prior("block").blob.sha256}
    assert all(new[name] == old[name] for name in old)

    # the server's log and its stored state hold counts and ids, no one's coefficients
    assert all(set(r) == {"round", "people", "published", "why"} for r in rounds)
    individual = {repr(float(v)) for fit in fits for v in fit.ravel()}
    individual |= {f"{float(v):.4f}" for fit in fits for v in fit.ravel()}
    assert "prior from 3 people published" in caplog.text  # the server's log was read
    assert not [v for v in individual if v in caplog.text]

    # round 2: the sharers pulled round 1's release (one new blob: the prior), fitted with its
    # prior, and round 2's prior is their clear-text mean again, published on top of it
    refits = []
    for index in SHARING:
        home = Home(homes / f"person-{index}")
        assert len(list(home.blobs.iterdir())) == len(old) + 1
        profile = load_profile(home.profiles, first)
        assert profile.summary["prior_people"] == 3
        refits.append(np.array(profile.coefficients))
    later = verify_release(releases / second, load_public_key(trust))
    assert later.notes["prior_of"] == first
    again = load_release_prior(releases / second, later, "block")
    assert again is not None
    assert torch.allclose(again.mean, torch.tensor(np.stack(refits)).mean(0).float(), atol=1e-4)

    # the opted-out device fitted locally and answered with an error and no content
    home = Home(homes / "person-3")
    assert load_profile(home.profiles, start).ratings > 0
    replies = {
        p.name: [json.loads(x) for x in p.read_text().splitlines()] for p in captured.iterdir()
    }
    assert len(replies) == PEOPLE
    silent = [r for r in replies.values() if all(x["error"] for x in r)]
    assert len(silent) == 1 and len(silent[0]) == 2  # one question a round, one error each
    assert all(set(reply) == {"error"} for reply in silent[0])
    for node in replies.values():
        if node is silent[0]:
            continue
        assert len(node) == 2 * 5  # a round: whether it shares, then SecAgg+'s four stages
        for reply in node:
            assert not reply["error"] and all(n == 0 for n in reply["arrays"].values())
            assert reply["floats"] == []  # no coefficient, no rating in the clear
            # metrics: at most the weight each device gives, 1 for everyone (a count)
            counts = [v for metrics in reply["metrics"].values() for v in metrics.values()]
            assert counts in ([], [1]), reply["metrics"]
    assert NOT_SHARING == 451
