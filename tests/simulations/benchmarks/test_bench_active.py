"""The active-selection benchmark on the small world: a report with a row per number of
ratings, from the final people only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tastevec.simulations.benchmarks.bench_active import ActiveSettings, run_active_benchmark
from tastevec.simulations.people.people_split import people_set, split_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people


def test_people_fall_on_one_side_whatever_the_order(world: Path) -> None:
    people = load_people(world, TEST_GROUPS, None)
    development = split_people(people, "development")
    final = split_people(list(reversed(people)), "final")
    assert development and final
    assert {p.name for p in development}.isdisjoint(p.name for p in final)
    assert len(development) + len(final) == len(people)
    assert all(people_set(p) == "final" for p in final)


@pytest.mark.slow
def test_report_compares_active_and_random_with_an_interval(
    world: Path, release: Path, trust: Path
) -> None:
    settings = ActiveSettings(shots=(3, 5), draws=1, people=2, resamples=200)
    report = run_active_benchmark(world, release, trust, settings)
    assert "SIMULATED" in report and "final test people" in report
    rows = re.findall(r"^\| (\d+) \| ([-\d.]+) \| ([-\d.]+) \| ([-+\d.]+) \| \[", report, re.M)
    assert [r[0] for r in rows] == ["3", "5"], report
    for _, active, random_, gain in rows:
        assert -1 <= float(active) <= 1 and -1 <= float(random_) <= 1
        assert abs(float(gain) - (float(active) - float(random_))) < 0.2
