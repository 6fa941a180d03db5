"""`tastevec-sim story` (make demo) on the small world with a briefly forged release: three
devices pull over gRPC, rate, fit, score; one SecAgg+ round publishes a prior to the release
service; each device pulls only the prior's blob and refits with it; the release service is
stopped."""

import json
import re
from pathlib import Path

import pytest

from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key
from tastevec.server.flower_server import ROUNDS_LOG
from tastevec.simulations.cli import main
from tastevec.simulations.tools.owned_processes import processes_with


@pytest.mark.slow
def test_the_story_runs_from_forge_to_a_refit_with_the_published_prior(
    world: Path, tmp_path: Path
) -> None:
    out = tmp_path / "story"
    args = ["story", "--out", str(out), "--world", str(world), "--people", "3"]
    assert main([*args, "--ratings", "10", "--steps", "2"]) == 0
    report = (out / "demo-report.md").read_text()
    assert "simulated" in report
    rounds = [json.loads(line) for line in (out / "releases" / ROUNDS_LOG).read_text().splitlines()]
    assert [(r["round"], r["people"], r["why"]) for r in rounds] == [(1, 3, None)]
    published = rounds[0]["published"]
    trust = load_public_key(out / "operator" / "release-key.pub")
    prior = verify_release(out / "releases" / published, trust).prior("block")
    assert prior is not None and prior.people == 3
    row = r"^\| (\S+/\S+) \| (-?[\d.]+) \| (-?[\d.]+) \| (-?[\d.]+) \| (\d+) \|$"
    rows = re.findall(row, report, re.M)
    assert len(rows) == 3
    for _, *sroccs, delta in rows:
        assert all(-1.0 <= float(value) <= 1.0 for value in sroccs)
        assert int(delta) == prior.blob.size  # only the prior's blob moved
    for index in range(3):
        profile = load_profile(Home(out / "homes" / f"person-{index}").profiles, published)
        assert profile.summary["prior_people"] == 3
    assert processes_with("TASTEVEC_STORY", str(out.resolve())) == []
