"""`tastevec-sim bench few-ratings` on the small world: every weight is fitted on development
people only, on the same supports, and the verdict follows from the intervals."""

import re
from pathlib import Path

from tastevec.simulations.calibrations.few_ratings import SHOTS, WEIGHTS, label
from tastevec.simulations.cli import main as sim_main
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people


def test_each_weight_is_measured_on_development_people(
    world: Path, release: Path, trust: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports" / "few.md"
    args = ["bench", "few-ratings", "--world", str(world), "--release", str(release)]
    assert sim_main([*args, "--trust", str(trust), "--draws", "1", "--out", str(out)]) == 0
    report = out.read_text()
    development = split_people(load_people(world, TEST_GROUPS, None), "development")
    assert f"{len(development)} **development** test people only" in report
    rows = re.findall(r"^\| (initialisation \(inf\)|weight \S+) \| (.+) \|$", report, re.M)
    assert [r[0] for r in rows] == [label(w) for w in WEIGHTS]
    for name, cells in rows[1:]:
        gains = re.findall(r"\(([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]\)", cells)
        assert len(gains) == len(SHOTS) - 1, name  # 20 of a small-world person's 24: too few held
        assert all(float(low) <= float(gain) <= float(high) for gain, low, high in gains)
    # 20 shots could not be measured, so no weight can meet a target set at 10 and 20
    assert "interval above zero: NOT met by any weight." in report
