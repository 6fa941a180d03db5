"""`bench device` on the small world with small counts: cold and warm fits, scoring memory."""

import re
from pathlib import Path

from tastevec.simulations.bench_device import run_device_benchmark


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
