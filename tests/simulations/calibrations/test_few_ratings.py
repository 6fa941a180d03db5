"""`tastevec-sim bench few-ratings` on the small world: every condition of each way is fitted
on development people only, on the same supports, and the verdict follows from the
intervals."""

import re
from pathlib import Path

import pytest

from tastevec.simulations.calibrations.few_ratings import SHOTS, WAYS, conditions
from tastevec.simulations.cli import main as sim_main
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people


@pytest.mark.parametrize("way", WAYS)
def test_each_condition_is_measured_on_development_people(
    world: Path, release: Path, trust: Path, tmp_path: Path, way: str
) -> None:
    out = tmp_path / "reports" / "few.md"
    args = ["bench", "few-ratings", "--world", str(world), "--release", str(release)]
    args += ["--trust", str(trust), "--draws", "1", "--out", str(out), "--way", way]
    assert sim_main(args) == 0
    report = out.read_text()
    development = split_people(load_people(world, TEST_GROUPS, None), "development")
    assert f"{len(development)} **development** test people only" in report
    names = list(conditions(way))
    rows = re.findall(r"^\| ([^|]+) \| (\d\.\d{3}.*) \|$", report, re.M)
    assert [r[0] for r in rows] == names
    for name, cells in rows[1:]:
        gains = re.findall(r"\(([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]\)", cells)
        assert len(gains) == len(SHOTS) - 1, name  # 20 of a small-world person's 24: too few held
        assert all(float(low) <= float(gain) <= float(high) for gain, low, high in gains)
    # 20 shots could not be measured, so no condition can meet a target set at 10 and 20
    assert "interval above zero: NOT met by any condition." in report
