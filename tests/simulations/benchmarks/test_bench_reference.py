"""`tastevec-sim bench reference` on the small world: fast and reference on the same supports,
at the release's own image size, with per-person rows and the target lines."""

import re
from pathlib import Path

import pytest

from tastevec.client.fit_config import FitConfig
from tastevec.simulations.cli import main
from tastevec.simulations.people import personalize_people


def test_the_benchmark_compares_fast_and_reference_person_by_person(
    world: Path, release: Path, trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the small world's people have 30 ratings: the feature correction starts at 15 here
    monkeypatch.setattr(personalize_people, "FIT_CONFIG", FitConfig(correct_from_ratings=15))
    out = tmp_path / "results" / "reference.md"
    args = ["bench", "reference", "--world", str(world), "--release", str(release)]
    args += ["--trust", str(trust), "--out", str(out), "--people", "2", "--shots", "10", "15"]
    args += ["--steps", "2"]
    assert main(args) == 0
    report = out.read_text()
    assert "simulated" in report and "(the release's own size)" in report
    table = report.split("## Mean over people")[1].split("##")[0]
    rows = re.findall(r"^\| (\d+) \| ([a-z, +]+) \| (-?\d\.\d{3}) \| ", table, re.M)
    assert [(s, m) for s, m, _ in rows] == [
        ("10", "fast, tensor"),
        ("10", "fast, block"),
        ("10", "reference, tensor"),
        ("15", "fast, tensor"),
        ("15", "fast, tensor, coefficients only"),
        ("15", "fast, block"),
        ("15", "fast, block, coefficients only"),
        ("15", "reference, tensor"),
        ("15", "reference, tensor + correction"),
    ]
    each = report.split("## Each person at 15 shots")[1].split("##")[0]
    assert len(re.findall(r"^\| \S+ \| -?\d", each, re.M)) == 2
    targets = report.split("## Targets")[1]
    assert "of the world's **final** test people, evaluated once" in report
    # like with like: at 10 shots (no correction) each layout against the reference; at 15
    # the corrected fit against the corrected reference, coefficients alone against it alone
    lines = re.findall(r"^- (.+) >= (.+) at >= 20x less time \((\d+) shots\): (.+)$", targets, re.M)
    assert [(m, r, s) for m, r, s, _ in lines] == [
        ("fast, tensor", "reference, tensor", "10"),
        ("fast, block", "reference, tensor", "10"),
        ("fast, tensor", "reference, tensor + correction", "15"),
        ("fast, tensor, coefficients only", "reference, tensor", "15"),
        ("fast, block", "reference, tensor + correction", "15"),
        ("fast, block, coefficients only", "reference, tensor", "15"),
    ]
    for *_, figures in lines:
        gain, low, high = re.search(
            r"per-person gain ([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]", figures
        ).groups()  # type: ignore[union-attr]
        assert float(low) <= float(gain) <= float(high)


def test_a_folder_that_is_not_a_world_is_a_one_line_error(
    release: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "reference", "--world", str(tmp_path), "--release", str(release)]
    args += ["--trust", str(trust), "--out", str(tmp_path / "r.md")]
    assert main(args) == 2
    assert "is not a photo world" in capsys.readouterr().err
