"""Devices that drop out mid-round (after their keys are shared, before their masked vector),
as the report's dropout section runs them: while the survivors exceed SecAgg+'s
reconstruction threshold the prior still forms, from the survivors alone; below it the round
halts, nothing is published, and the run says why."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tastevec.client.home import Home
from tastevec.client.personal_profile import profile_path
from tastevec.common.errors import TastevecError
from tastevec.server.flower_server import ROUNDS_LOG
from tastevec.simulations.federation.dropout_rounds import dropout_section

PEOPLE = 5  # partition 2 drops, 4 survive


@pytest.mark.slow
def test_the_prior_forms_from_the_survivors_and_halts_below_the_threshold(
    make_people: Callable[[str, int, tuple[int, ...]], tuple[Path, Path, str]],
    release_key: Path,
    trust: Path,
) -> None:
    releases, homes, start = make_people("dropouts", PEOPLE, tuple(range(PEOPLE)))
    (releases / ROUNDS_LOG).write_text(json.dumps({"round": 1, "people": 9}) + "\n")  # earlier
    lines = dropout_section(releases, homes, PEOPLE, start, release_key, trust)
    text = "\n".join(lines)

    formed = re.search(
        r"^\| survivors above the threshold \| 5 \| 1 \| 4 \| 3 \| 4 \| published (r-\S+) \| "
        r"(\S+) \| (\S+) \|$",
        text,
        re.M,
    )
    assert formed is not None, text
    assert max(float(formed[2]), float(formed[3])) <= 1e-4
    assert (releases / formed[1]).is_dir()
    assert "only the survivors fitted" in text
    for dropped in (2,):
        assert not profile_path(Home(homes / f"person-{dropped}").profiles, start).exists()

    halted = re.search(
        r"^\| survivors below the threshold \| 5 \| 1 \| 4 \| 5 \| 0 \| halted, nothing "
        r"published: (.+) \| — \| — \|$",
        text,
        re.M,
    )
    assert halted is not None, text
    assert "reconstruction threshold" in halted[1]
    assert "the round halted cleanly: no release was published" in text
    assert sorted(p.name for p in releases.iterdir()) == sorted([start, formed[1], ROUNDS_LOG])
    assert "(1 of 5: partition 2)" in text and "masked vector" in text


def test_too_few_people_or_a_missing_home_is_refused(tmp_path: Path) -> None:
    key, trust = tmp_path / "key", tmp_path / "key.pub"
    with pytest.raises(TastevecError, match="give at least 4 people"):
        dropout_section(tmp_path, tmp_path / "homes", 3, "r-1", key, trust)
    (tmp_path / "homes" / "person-0").mkdir(parents=True)
    with pytest.raises(TastevecError, match="has no home person-1"):
        dropout_section(tmp_path, tmp_path / "homes", 4, "r-1", key, trust)
