"""The release benchmark at a tiny size: every section measured, resume re-sends nothing."""

import re
from pathlib import Path

from tastevec.simulations.benchmarks.bench_release import (
    ReleaseBenchSettings,
    run_release_benchmark,
)


def test_the_release_benchmark_reports_every_figure(tmp_path: Path) -> None:
    settings = ReleaseBenchSettings(
        release_mb=2, task_vectors=2, clients=2, repeats=1, flower=False
    )
    report = run_release_benchmark(tmp_path / "scratch", settings)
    assert "**ratio transfer / socket**" in report
    assert re.search(r"\| ratio bare grpcio / socket: .* \| \| \d+\.\d\d \|", report)
    assert "**re-sent: 0 bytes**" in report
    assert "| all identical and verified | True |" in report
    delta = re.search(r"\| one task vector \| ([\d,]+) \|", report)
    assert delta is not None and int(delta.group(1).replace(",", "")) == 500_000
    prior = re.search(r"\| a new population prior \| ([\d,]+) \|", report)
    assert prior is not None and int(prior.group(1).replace(",", "")) == 2 * 4 * 64 * 3
    assert not (tmp_path / "scratch").exists()
