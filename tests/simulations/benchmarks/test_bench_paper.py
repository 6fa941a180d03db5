"""`tastevec-sim bench paper` on databases written in their real formats (the small world's
FLICKR-AES and REAL-CUR folders), read by their own loaders: the paper's protocol through the
device's fit, with the paper's figures beside ours and a paired interval by person."""

import re
from pathlib import Path

import pytest

from tastevec.client.fit_config import FitConfig
from tastevec.simulations.cli import main
from tastevec.simulations.people import personalize_people


def _args(release: Path, trust: Path, out: Path, database: str, root: Path) -> list[str]:
    args = ["bench", "paper", "--database", database, "--root", str(root)]
    return [*args, "--release", str(release), "--trust", str(trust), "--out", str(out)]


def test_flickr_aes_test_workers_with_the_papers_protocol(
    world: Path, release: Path, trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the small world's people have 30 ratings: the feature correction starts at 15 here
    monkeypatch.setattr(personalize_people, "FIT_CONFIG", FitConfig(correct_from_ratings=15))
    out = tmp_path / "reports" / "paper.md"
    args = _args(release, trust, out, "flickr_aes", world / "databases" / "flickr_aes")
    args += ["--option", 'test_workers=["worker000", "worker007"]']
    assert main([*args, "--shots", "10", "15", "--draws", "2"]) == 0
    report = out.read_text()
    assert "split `test`: 2 people" in report
    table = report.split("## SROCC, mean over people")[1].split("##")[0]
    rows = dict(re.findall(r"^\| ([^|]+?) \| (-?\d\.\d{3} \| -?\d\.\d{3}) \|$", table, re.M))
    assert set(rows) == {
        "plain average of task vectors (no ratings)",
        "fast, block",
        "fast, block, coefficients only",
        "fast, tensor",
    }
    assert "| the paper (CLIP ViT-L/14, its own fit) | 0.668 | — |" in table  # none at 15
    gains = report.split("paired by person")[1]
    assert len(re.findall(r"^\| 1[05] \| 2 \| [+-]\d\.\d{3} \| \[", gains, re.M)) == 2


def test_real_cur_albums_and_the_papers_figures(
    world: Path, release: Path, trust: Path, tmp_path: Path
) -> None:
    out = tmp_path / "paper.md"
    args = _args(release, trust, out, "real_cur", world / "databases" / "real_cur")
    assert main([*args, "--shots", "10", "--draws", "1", "--people", "2"]) == 0
    report = out.read_text()
    assert "| the paper (CLIP ViT-L/14, its own fit) | 0.577 |" in report


def test_a_database_without_people_or_a_bad_option_is_a_one_line_error(
    world: Path, release: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    koniq = _args(release, trust, tmp_path / "r.md", "koniq10k", world / "databases" / "koniq10k")
    assert main(koniq) == 2
    assert "not a personal database" in capsys.readouterr().err
    flickr = _args(
        release, trust, tmp_path / "r.md", "flickr_aes", world / "databases" / "flickr_aes"
    )
    assert main([*flickr, "--option", "colour=blue"]) == 2
    assert "takes no option colour" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()
