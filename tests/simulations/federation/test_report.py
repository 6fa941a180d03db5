"""`tastevec-sim report` on the small world: every section is there and computed, the plots
are written, SecAgg+ matches the clear text, and the DP runs spend the epsilon they target."""

import re
from pathlib import Path

import pytest

from tastevec.common.errors import TastevecError
from tastevec.server.privacy_accounting import PrivacyBudget
from tastevec.simulations.calibrations.prior_weight import WEIGHTS
from tastevec.simulations.federation.report import ReportSettings, noise_multiplier_for, run_report


def test_the_noise_multiplier_spends_the_target_epsilon_and_no_more() -> None:
    for epsilon in (1.0, 3.0, 8.0):
        multiplier = noise_multiplier_for(epsilon, 1e-5, 200)
        spent = PrivacyBudget(multiplier, 1e-5).spend(200, 200)
        assert 0.97 * epsilon <= spent <= epsilon
    assert noise_multiplier_for(1.0, 1e-5, 200) > noise_multiplier_for(8.0, 1e-5, 200)


@pytest.mark.slow
def test_the_report_runs_every_experiment_on_the_small_world(
    world: Path, release: Path, trust: Path, release_key: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results" / "federation-report.md"
    settings = ReportSettings(
        people=12,
        rounds=2,
        cohorts=(3, 6),
        epsilons=(3.0,),
        shots=(5, 10),
        vector_shots=(5, 10),
        draws=1,
        dropout_people=6,
    )
    report = run_report(world, release, trust, release_key, tmp_path / "scratch", out, settings)
    assert "The ratings are simulated" in report and "evaluated once" in report
    rows = re.findall(r"^\| (\d) \| 12 \| 12 \| (\S+) \| (\S+) \| published r-", report, re.M)
    assert [r[0] for r in rows] == ["1", "2"]
    assert max(float(v) for r in rows for v in r[1:]) <= 1e-4
    assert "Target: SecAgg+ max abs error <= 0.0001: met" in report
    assert "target under 15 min for 200 people x 3 rounds: NOT met" in report  # 12 people
    assert re.search(r"peak resident memory per worker: median \d+ MiB", report)
    dp = re.search(r"^\| 3 \| (\S+) \| (\S+) \| 12 \|$", report, re.M)
    assert dp is not None and 2.9 <= float(dp[2]) <= 3.0
    for condition in ("no prior", "federated prior", "DP, epsilon 3"):
        assert re.search(rf"^\| {condition} \| -?0\.\d+ \| -?0\.\d+ \|$", report, re.M)
    groups = re.findall(
        r"^\| (flickr_aes|para|real_cur) \| (\d+) \| [+-]\d\.\d{3} [[(]", report, re.M
    )
    final = re.search(r"final\*\* test people \((\d+);", report)
    assert final is not None and sum(int(n) for _, n in groups) == int(final[1])
    weights = re.findall(r"^\| (centre \(inf\)|weight \S+) \| (-?0\.\d+) \(", report, re.M)
    assert [w[0] for w in weights] == ["centre (inf)"] + [f"weight {w:g}" for w in WEIGHTS[1:]]
    chosen = re.search(r"Chosen: \*\*(centre \(inf\)|weight \S+)\*\*", report)
    assert chosen is not None and chosen[1] in {w[0] for w in weights}
    for k in range(1, 7):
        assert re.search(rf"^\| {k} \(\+\w+\) \| -?0\.\d+ \| -?0\.\d+ \|$", report, re.M)
    for cohort in ("3 people", "6 people", "12 people"):
        assert re.search(rf"^\| {cohort} \| {cohort.split()[0]} \| ", report, re.M)
    for plot in ("shots", "vectors", "cohorts"):
        path = out.with_name(f"federation-report-{plot}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"({path.name})" in report

    # a report cut short resumes: every finished stage is read back, nothing runs again
    runs = sorted(p.name for p in (tmp_path / "scratch" / "runs").iterdir())
    again = run_report(world, release, trust, release_key, tmp_path / "scratch", out, settings)
    assert _body(again) == _body(report)
    assert sorted(p.name for p in (tmp_path / "scratch" / "runs").iterdir()) == runs
    # a federated run cut short mid-run cannot be repeated on homes that moved on
    (tmp_path / "scratch" / "stages" / "main.json").unlink()
    with pytest.raises(TastevecError, match="stage main was cut short mid-run"):
        run_report(world, release, trust, release_key, tmp_path / "scratch", out, settings)


def _body(report: str) -> str:
    return "\n".join(line for line in report.splitlines() if not line.startswith("Whole report"))
