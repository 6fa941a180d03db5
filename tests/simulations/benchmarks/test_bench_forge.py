"""The forge benchmark on the small world: four forges, the gain intervals, the encoding sweep
with the people's personalization, one report."""

import re

import pytest

from tastevec.simulations.benchmarks.bench_forge import ENCODINGS, run_forge_benchmark
from tastevec.simulations.benchmarks.forge_personalization import PersonalizationSettings
from tastevec.simulations.cli import main


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("bench")
    assert main(["world", "--out", str(root / "world"), "--size", "small"]) == 0
    return run_forge_benchmark(
        root / "world",
        root / "scratch",
        image_size=64,
        epochs=1,
        people_per_group=1,
        personalization=PersonalizationSettings(shots=(10, 20), draws=1),
    )


def rows(report: str, first_cell: str) -> list[list[str]]:
    found = []
    for line in report.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            found.append(cells)
    return found


def test_report_says_the_ratings_are_simulated_and_names_the_machine(report: str) -> None:
    assert "**simulated**" in report and "| cpu |" in report


def test_every_training_database_has_time_and_accuracy(report: str) -> None:
    for name in ("ava", "flickr_aes", "tad66k", "para", "koniq10k", "spaq"):
        timing, accuracy = rows(report, name)
        assert float(timing[4]) > 0  # images/s
        assert all(-1 <= float(cell) <= 1 for cell in accuracy[1:4] + accuracy[7:10])
        low, high = (float(end) for end in accuracy[5].split(" to "))
        assert -2 <= low <= high <= 2
        assert accuracy[6] == ("yes" if low > 0 else "no")


def test_encoding_sweep_sizes_follow_the_encodings(report: str) -> None:
    for scope in ("all", "top-2"):
        sizes = section(report, "Task vector size per scope and encoding, and its accuracy cost")
        sweep = {cells[1]: cells for cells in rows(sizes, scope)}
        assert list(sweep) == list(ENCODINGS)
        assert sweep["float32"][3] == "1.000" and sweep["float32"][5] == "0.0000"
        assert float(sweep["float16"][3]) == pytest.approx(0.5, abs=0.01)
        assert float(sweep["int8"][3]) == pytest.approx(0.25, abs=0.01)
        assert float(sweep["topk-5"][3]) < float(sweep["topk-20"][3]) < 0.35


def test_scopes_tune_fewer_parameters_as_they_shrink(report: str) -> None:
    tuned = {
        cells[0]: int(cells[3].replace(",", ""))
        for scope in ("all", "head", "top-2")
        for cells in rows(
            section(report, "Time to forge each task vector (scope `all`, this CPU)"), scope
        )
        if len(cells) == 4  # the scope table: scope, images/s, seconds, parameters
    }
    assert tuned["head"] < tuned["top-2"] < tuned["all"]


def section(report: str, heading: str) -> str:
    start = report.index(f"## {heading}\n")
    end = report.find("\n## ", start + 1)
    return report[start : end if end >= 0 else len(report)]


def test_people_personalize_with_every_scope_and_encoding(report: str) -> None:
    personal = section(report, "Personalization accuracy per scope and encoding")
    assert "| SROCC @ 10 | change @ 10 | SROCC @ 20 | change @ 20 |" in personal
    for scope in ("all", "top-2"):
        found = {cells[1]: cells for cells in rows(personal, scope)}
        assert list(found) == list(ENCODINGS)
        for cells in found.values():
            assert -1 <= float(cells[2]) <= 1 and -1 <= float(cells[4]) <= 1
            change, error = cells[3].split(" ± ")
            assert -2 <= float(change) <= 2 and float(error) >= 0
    reference = {cells[1]: cells for cells in rows(personal, "all")}["float32"]
    assert reference[3] == reference[5] == "0.0000 ± 0.0000"
    assert re.search(r"Fits per row: [1-9]\d* at 10 shots, [1-9]\d* at 20 shots\.", personal)
