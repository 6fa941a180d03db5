"""The device's commands end to end on a real release: pull, rate, fit, score, status, forget."""

import csv
import dataclasses
import json
import os
import shutil
import stat
from pathlib import Path

import pytest
import torch

from tastevec.client import fitting
from tastevec.client.cli import main
from tastevec.client.feature_correction import ALPHAS, CorrectedHead
from tastevec.client.fit_config import FitConfig
from tastevec.client.fit_options import FitMode
from tastevec.client.home import Home
from tastevec.client.personal_model import personal_model
from tastevec.client.personal_profile import load_profile, save_profile
from tastevec.client.release_cache import load_current_release
from tastevec.client.scoring_model import default_profile
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.images import load_image
from tastevec.common.release_model import load_release_model, load_release_task_vectors


def client(home: Path, *args: str) -> int:
    command, *rest = args
    return main([command, "--home", str(home), *rest])


def write_csv(path: Path, rows: list[tuple[str, float]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "score"])
        writer.writerows(rows)
    return path


def test_fit_each_layout_then_score_a_folder_best_first(
    rated_home: Path, person_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for layout in ("global", "block", "tensor"):
        assert client(rated_home, "fit", "--layout", layout) == 0
        assert f"fast {layout} profile" in capsys.readouterr().out
    home = Home(rated_home)
    release = load_current_release(home)
    profile = load_profile(home.profiles, release.manifest.release_id)
    assert profile.layout == "tensor" and profile.ratings == 30
    assert profile.summary["images_run"] == 0  # every image came from the cache
    folder = Path(next(csv.DictReader(person_csv.open()))["image"]).parent
    assert client(rated_home, "score", str(folder), "--json", "--no-progress") == 0
    ranked = json.loads(capsys.readouterr().out)
    scores = [item["score"] for item in ranked]
    assert scores == sorted(scores, reverse=True) and len(scores) > 1
    model = personal_model(release, profile, torch.device("cpu"))
    first = Path(ranked[0]["image"])
    image = model.preprocessing.transform()(
        load_image(first, min_side=model.preprocessing.decode_side)
    )
    with torch.no_grad():
        assert model(image[None]).item() == pytest.approx(ranked[0]["score"], abs=1e-5)


def test_from_enough_ratings_the_fit_adds_a_correction_that_scoring_uses(
    rated_home: Path,
    person_csv: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = Home(rated_home)
    # the small world's person has 30 ratings: the correction starts at 20 here
    config = FitConfig(correct_from_ratings=20)
    fitting.fit_profile(home, FitMode.FAST, CoefficientLayout.BLOCK, config=config)
    release = load_current_release(home)
    profile = load_profile(home.profiles, release.manifest.release_id)
    model = personal_model(release, profile, torch.device("cpu"))
    assert isinstance(model.head, CorrectedHead)
    assert profile.correction is not None
    assert FitConfig.from_dict(profile.fit_config) == config  # the profile records it
    assert len(profile.correction) == model.backbone.num_features
    assert profile.summary["correction_alpha"] in ALPHAS
    assert profile.summary["seconds"] >= profile.summary["correction_seconds"] > 0
    folder = Path(next(csv.DictReader(person_csv.open()))["image"]).parent
    capsys.readouterr()
    assert client(rated_home, "score", str(folder), "--json", "--no-progress") == 0
    ranked = json.loads(capsys.readouterr().out)
    image = model.preprocessing.transform()(
        load_image(Path(ranked[0]["image"]), min_side=model.preprocessing.decode_side)
    )
    with torch.no_grad():
        assert model(image[None]).item() == pytest.approx(ranked[0]["score"], abs=1e-5)
        uncorrected = model.head.head(model.features(image[None])).item()
    assert uncorrected != pytest.approx(ranked[0]["score"], abs=1e-4)
    broken = dataclasses.replace(profile, correction=profile.correction[:-1])
    save_profile(home.profiles, broken)
    assert client(rated_home, "score", str(folder), "--no-progress") == 2
    assert "profile correction has" in capsys.readouterr().err
    assert client(rated_home, "fit", "--layout", "block") == 0  # the default: from 50 on
    refitted = load_profile(home.profiles, release.manifest.release_id)
    assert refitted.correction is None
    assert FitConfig.from_dict(refitted.fit_config) == FitConfig()


def test_status_reports_release_ratings_and_profile(
    rated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client(rated_home, "status") == 0
    out = capsys.readouterr().out
    assert "ratings: 30 on scale 1-5" in out and "profile: no profile" in out
    assert client(rated_home, "fit", "--layout", "global") == 0
    assert client(rated_home, "status") == 0
    assert "profile: fast global" in capsys.readouterr().out


def test_a_moved_image_keeps_its_rating_and_the_fit_uses_the_cache(
    rated_home: Path, person_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client(rated_home, "fit", "--layout", "global") == 0
    moved_from = Path(next(csv.DictReader(person_csv.open()))["image"])
    moved_to = tmp_path / "moved.jpg"
    shutil.copy(moved_from, moved_to)
    assert client(rated_home, "rate", str(moved_to), "5") == 0
    capsys.readouterr()
    assert client(rated_home, "fit", "--layout", "global") == 0
    assert "from 30 ratings" in capsys.readouterr().out
    moved_to.unlink()  # gone from disk: the cached values still carry its rating
    assert client(rated_home, "fit", "--layout", "global") == 0
    assert "from 30 ratings" in capsys.readouterr().out


def test_a_damaged_image_cache_is_started_again_by_the_next_fit(
    rated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client(rated_home, "fit", "--layout", "global") == 0
    cache = Home(rated_home).image_cache
    data = bytearray(cache.read_bytes())
    data[100:] = bytes(len(data) - 100)  # the header stays, every page is zeroed
    cache.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    assert client(rated_home, "fit", "--layout", "global") == 0
    captured = capsys.readouterr()
    assert "from 30 ratings" in captured.out and "Traceback" not in captured.err
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_scoring_skips_a_corrupt_image_and_says_so(
    rated_home: Path, person_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client(rated_home, "fit", "--layout", "global") == 0
    folder = tmp_path / "photos"
    folder.mkdir()
    for row in list(csv.DictReader(person_csv.open()))[:3]:
        shutil.copy(row["image"], folder / Path(row["image"]).name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    capsys.readouterr()
    assert client(rated_home, "score", str(folder), "--no-progress") == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 3
    assert "skipped" in captured.err and "broken.jpg" in captured.err


def test_too_few_or_identical_ratings_are_one_line_errors(
    tmp_path: Path, release: Path, trust: Path, person_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [(r["image"], float(r["score"])) for r in csv.DictReader(person_csv.open())]
    home = tmp_path / "home"
    assert client(home, "pull", "--from-dir", str(release), "--trust", str(trust)) == 0
    assert client(home, "rate", "--csv", str(write_csv(tmp_path / "few.csv", rows[:3]))) == 0
    capsys.readouterr()
    assert client(home, "fit") == 2
    err = capsys.readouterr().err.strip()
    assert "needs at least 5" in err and "you have 3" in err and "\n" not in err
    other = tmp_path / "other"
    assert client(other, "pull", "--from-dir", str(release), "--trust", str(trust)) == 0
    same = [(image, 3.0) for image, _ in rows[:20]]
    assert client(other, "rate", "--csv", str(write_csv(tmp_path / "same.csv", same))) == 0
    capsys.readouterr()
    assert client(other, "fit", "--layout", "tensor") == 2
    assert "2 different scores" in capsys.readouterr().err


def test_a_profile_of_another_release_is_not_used_and_the_default_model_scores(
    rated_home: Path, person_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert client(rated_home, "fit", "--layout", "global") == 0
    profiles = Home(rated_home).profiles
    (profile,) = profiles.glob("*.json")
    profile.rename(profiles / "r-0000000000000000.json")
    capsys.readouterr()
    folder = Path(next(csv.DictReader(person_csv.open()))["image"]).parent
    assert client(rated_home, "score", str(folder), "--json", "--no-progress") == 0
    captured = capsys.readouterr()
    assert "your profile was fitted for release r-0000000000000000" in captured.err
    assert "population's default model, the plain average of the 6 task vectors" in captured.err
    assert "tastevec-client fit" in captured.err
    assert len(json.loads(captured.out)) > 1


def test_score_before_any_fit_uses_the_plain_average_and_says_so(
    rated_home: Path, person_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(next(csv.DictReader(person_csv.open()))["image"]).parent
    capsys.readouterr()
    assert client(rated_home, "score", str(folder), "--json", "--no-progress") == 0
    captured = capsys.readouterr()
    assert "no profile fitted for release" in captured.err
    ranked = json.loads(captured.out)
    home = Home(rated_home)
    release = load_current_release(home)
    base = load_release_model(release.root, release.manifest)
    vectors = load_release_task_vectors(release.root, release.manifest)
    profile, _ = default_profile(release, base, vectors)
    assert profile.layout == "global" and profile.ratings == 0
    assert profile.coefficients == (pytest.approx((1 / 6,) * 6),)
    model = personal_model(release, profile, torch.device("cpu"))
    image = model.preprocessing.transform()(
        load_image(Path(ranked[0]["image"]), min_side=model.preprocessing.decode_side)
    )
    with torch.no_grad():
        assert model(image[None]).item() == pytest.approx(ranked[0]["score"], abs=1e-5)


def test_score_with_nothing_readable_is_an_error_and_each_skip_is_reported_once(
    rated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "broken.jpg").write_bytes(b"not a jpeg")
    os.mkfifo(photos / "pipe.jpg")
    capsys.readouterr()
    assert client(rated_home, "score", str(photos), "--no-progress") == 2
    err = capsys.readouterr().err
    assert err.count("broken.jpg") == 1 and err.count("pipe.jpg") == 1
    assert "pipe.jpg is a FIFO" in err
    assert "error: nothing scored: 2 files skipped" in err
    assert client(rated_home, "score", str(photos / "pipe.jpg"), "--no-progress") == 2
    assert "pipe.jpg is a FIFO (named pipe); need an image or a folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert client(rated_home, "score", str(empty), "--no-progress") == 2
    assert f"nothing scored: no image in {empty}" in capsys.readouterr().err


def test_no_release_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert client(tmp_path / "home", "fit") == 2
    assert "no release installed" in capsys.readouterr().err


def test_reference_fit_runs_the_papers_steps(
    rated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("fit", "--mode", "reference", "--layout", "block", "--steps", "5")
    assert client(rated_home, *args) == 0
    home = Home(rated_home)
    release = load_current_release(home)
    profile = load_profile(home.profiles, release.manifest.release_id)
    assert profile.mode == "reference" and profile.summary["steps"] == 5
    assert profile.layout == "block" and len(profile.groups) > 3


def test_forget_deletes_ratings_profiles_and_cache(
    rated_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client(rated_home, "fit", "--layout", "global") == 0
    home = Home(rated_home)
    assert home.image_cache.exists()
    capsys.readouterr()
    assert client(rated_home, "forget") == 2  # stdin is not a terminal: needs --yes
    assert "--yes" in capsys.readouterr().err
    assert client(rated_home, "forget", "--yes") == 0
    assert "deleted 30 ratings, 1 profile and the image cache" in capsys.readouterr().out
    assert not home.image_cache.exists() and not list(home.profiles.glob("*.json"))
    assert client(rated_home, "status") == 0
    assert "ratings: none" in capsys.readouterr().out
