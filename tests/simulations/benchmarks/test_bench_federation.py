"""`tastevec-sim bench federation` on the small world: three simulated people, one round;
the report sets the published prior against the clear text of the same fits."""

import re
from pathlib import Path

import pytest

from tastevec.simulations.cli import main


@pytest.mark.slow
def test_the_benchmark_measures_secure_aggregation_against_the_clear_text(
    world: Path, release: Path, trust: Path, release_key: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results" / "federation.md"
    args = ["bench", "federation", "--world", str(world), "--release", str(release)]
    args += ["--trust", str(trust), "--key", str(release_key), "--people", "3"]
    args += ["--scratch", str(tmp_path / "scratch"), "--out", str(out)]
    assert main(args) == 0
    report = out.read_text()
    assert "simulated ratings" in report and "3 simulated people" in report
    row = re.search(r"^\| 1 \| 3 \| 3 \| (\S+) \| (\S+) \| published r-", report, re.M)
    assert row is not None and max(float(row[1]), float(row[2])) <= 1e-4
    assert "Target: SecAgg+ max abs error <= 1e-4: met" in report
    assert main(args) == 2  # the scratch folder holds this run: refused, not overwritten
