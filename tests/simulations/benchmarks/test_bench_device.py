"""`bench device` on the small world with small counts: cold and warm fits, scoring memory."""

import re
from pathlib import Path

import pytest

from tastevec.simulations.benchmarks.bench_device import run_device_benchmark
from tastevec.simulations.cli import main


def test_device_benchmark_reports_fits_and_scoring(
    world: Path, release: Path, trust: Path, tmp_path: Path
) -> None:
    report = run_device_benchmark(
        world, release, trust, tmp_path, ratings=(5, 10), score_counts=(20, 60)
    )
    assert "| 10 | tensor |" in report and "| 5 | tensor |" not in report  # needs 10
    rows = re.findall(r"\| (\d+) \| (global|block|tensor) \| ([\d.]+) \(([\d.]+)\)", report)
    assert len(rows) == 5 and all(float(total) >= float(inner) for *_, total, inner in rows)
    assert re.search(r"\| 60 \| [\d.]+ \| [\d.]+ \| \d+ MiB \|", report)
    assert "Scoring 60 images in bounded memory" in report


def test_a_folder_that_is_not_a_world_is_a_one_line_error_and_creates_nothing(
    release: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "device", "--world", str(tmp_path), "--release", str(release)]
    args += ["--trust", str(trust), "--out", str(tmp_path / "out" / "d.md")]
    args += ["--scratch", str(tmp_path / "scratch")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is not a photo world" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / "scratch").exists()
