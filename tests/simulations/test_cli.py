import re
from pathlib import Path

import pytest

from tastevec.common.task_vector import TaskVector
from tastevec.simulations.cli import main


@pytest.mark.slow
def test_demo_forges_composes_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path), "--steps", "2"]) == 0
    report = (tmp_path / "demo-report.md").read_text()
    assert report in capsys.readouterr().out
    assert "SIMULATED" in report
    vectors = [TaskVector.load(tmp_path / f"{n}.safetensors") for n in ("brightness", "sharpness")]
    assert [v.source for v in vectors] == ["brightness", "sharpness"]
    assert vectors[0].base_digest == vectors[1].base_digest
    assert all(v.norm() > 0 for v in vectors)
    rows = re.findall(
        r"^\| (.+?) \| ([\d.]+), ([\d.]+) \| ([+-][\d.]+) \| ([+-][\d.]+) \| ([+-][\d.]+) \|$",
        report,
        re.M,
    )
    assert [r[0] for r in rows] == [
        "base (fresh head)",
        "brightness task vector",
        "sharpness task vector",
        "composed 0.5/0.5",
        "composed 1.0/1.0",
    ]
    assert all(-1 <= float(x) <= 1 for row in rows for x in row[3:])
    assert len(re.findall(r"^\d\. \w+: [\d.]+$", report, re.M)) == 5


@pytest.mark.slow
def test_core_benchmark_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "core.md"
    args = [
        "bench",
        "core",
        "--out",
        str(out),
        "--batch-size",
        "2",
        "--image-size",
        "64",
        "--repeats",
        "1",
    ]
    assert main(args) == 0
    report = out.read_text()
    ratio = re.search(
        r"\| merged personalized \| [\d.]+ \([\d.]+-[\d.]+\) \| [\d.]+ \| ([\d.]+) \|", report
    )
    assert ratio and float(ratio.group(1)) > 0
    for layout in ("global", "block", "tensor"):
        assert f"| composed ({layout}) | coefficients only |" in report
    peaks = re.findall(r"\| (\d+) MiB \| (\d+) MiB \|", report)
    assert len(peaks) == 2 and all(int(v) > 0 for row in peaks for v in row)
    assert "| cpu cores (os.cpu_count) |" in report


def test_bad_arguments_exit_with_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--steps", "0"])
    assert exit_info.value.code == 2
    assert "must be a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [["bench", "forge", "--people", "-1"], ["bench", "personalize", "--prior-people", "-2"]],
)
def test_a_negative_count_of_people_is_a_usage_error(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 2
    assert "must be 0 or a positive integer, got -" in capsys.readouterr().err


def test_unwritable_output_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["demo", "--out", str(blocker / "sub")]) == 2
    assert main(["bench", "core", "--out", str(blocker / "sub" / "r.md")]) == 2
    assert main(["bench", "forge", "--out", str(blocker / "sub" / "r.md")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert all(
        line.startswith("tastevec-sim: error: cannot create output folder") for line in lines
    )
