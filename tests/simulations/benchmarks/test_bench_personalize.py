"""`tastevec-sim bench personalize` on the small world: every method, the reference subset,
the targets and the plot, with figures recomputable from the methods' definitions."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tastevec.client.fit_config import FitConfig
from tastevec.simulations.benchmarks import bench_personalize
from tastevec.simulations.cli import main
from tastevec.simulations.people import personalize_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people


def test_the_benchmark_writes_a_report_and_a_plot(
    world: Path, release: Path, trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the small world's people have 30 ratings: the feature correction starts at 20 here
    monkeypatch.setattr(personalize_people, "FIT_CONFIG", FitConfig(correct_from_ratings=20))
    out = tmp_path / "results" / "personalize.md"
    args = ["bench", "personalize", "--world", str(world), "--release", str(release)]
    args += ["--trust", str(trust), "--out", str(out), "--shots", "5", "10", "20"]
    args += ["--draws", "2"]
    args += ["--people", "1", "--prior-people", "2", "--reference-people", "1"]
    args += ["--reference-steps", "2"]
    assert main(args) == 0
    report = out.read_text()
    assert "simulated" in report and out.with_suffix(".png").stat().st_size > 1000
    for method in (
        "generic (AVA model)",
        "ridge probe",
        "head fine-tune",
        "output-space",
        "fast, global",
        "fast, block",
        "fast, block, coefficients only",
        "fast, tensor",
        "paper's initialisation (block)",
        "population prior",
        "reference, tensor",
    ):
        assert method in report
    # the final people of the first person per group: a PARA user and a REAL-CUR album
    assert "the world's **final** test people, evaluated once" in report
    assert "1 `para`, 1 `real_cur`" in report
    targets = report.split("## Targets")[1]
    beats = re.search(r"^\| plain average of task vectors \| (.+) \|$", targets, re.M)
    assert beats is not None
    gains = re.findall(r"([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]", beats.group(1))
    assert len(gains) == 2  # 5 and 10 shots; at 20 only the album has images enough
    assert all(float(low) <= float(gain) <= float(high) for gain, low, high in gains)
    assert "Few ratings count: the fit gains over the paper's initialisation at 10 shots" in targets
    assert "fast, block >= reference, tensor at >= 20x less time (10 shots)" in report
    srocc_table = report.split("## SROCC")[1].split("##")[0]
    cells = re.findall(r"(-?\d\.\d{3}) ± (\d\.\d{3})", srocc_table)
    assert cells and all(-1 <= float(m) <= 1 for m, _ in cells)
    # the tensor layout needs 10 ratings: no 5-shot figure for it
    tensor_row = next(line for line in srocc_table.splitlines() if "fast, tensor" in line)
    assert "—" in tensor_row
    # when to step: measured on the 2 training people, 2 draws at each number of ratings
    steps = report.split("## When to step (training people)")[1].split("##")[0]
    rows = re.findall(r"^\| (\d+) \| (\d+) \| (-?\d\.\d{3}) \| (-?\d\.\d{3}) \|", steps, re.M)
    assert [(r[0], r[1]) for r in rows] == [("5", "4"), ("10", "4"), ("20", "4")]
    # how much the prior counts: the same people and numbers of ratings, six worths each
    worths = report.split("## How much the prior counts (training people)")[1].split("##")[0]
    assert "| ratings | fits | no prior | worth 5 |" in worths and "prior only |" in worths
    rows = re.findall(r"^\| (\d+) \| (\d+) \|((?: -?\d\.\d{3} \|){6})$", worths, re.M)
    assert [(r[0], r[1]) for r in rows] == [("5", "4"), ("10", "4"), ("20", "4")]
    # the feature correction: only from its number of ratings on, measured at five weights
    weights = report.split("## How much the score counts in the correction (training people)")[1]
    assert "| ratings | fits | no correction | weight 1 |" in weights
    rows = re.findall(r"^\| (\d+) \| (\d+) \|((?: -?\d\.\d{3} \|){6})$", weights, re.M)
    assert [(r[0], r[1]) for r in rows] == [("20", "4")]
    only = next(line for line in srocc_table.splitlines() if "coefficients only" in line)
    assert only.count("—") == 2  # reported where the correction applies: 20 shots
    block = next(line for line in srocc_table.splitlines() if line.startswith("| fast, block |"))
    assert block.split("|")[-2] != only.split("|")[-2]  # the correction changed the scores


def test_test_people_come_from_the_test_splits(world: Path) -> None:
    people = load_people(world, TEST_GROUPS, None)
    card = json.loads((world / "world.json").read_text())["databases"]
    flickr_test = set(card["flickr_aes"]["people_options"]["test_workers"])
    assert {p.name for p in people if p.group == "flickr_aes"} <= flickr_test
    assert {p.group for p in people} == {"flickr_aes", "para", "real_cur"}
    person = people[0]
    assert len(person.images) == len(person.targets) and np.ptp(person.targets) > 0


def test_without_the_reference_subset_the_targets_point_to_bench_reference() -> None:
    assert bench_personalize.Settings().reference.people == 0
    targets = "\n".join(bench_personalize._target_lines(bench_personalize.Results(), []))
    assert "`tastevec-sim bench reference` (`reference-bench.md`)" in targets
