"""`tastevec-client suggest DIR -n K`: the photos whose ratings should teach the model most,
chosen as the page chooses them, on a real release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client import active_selection
from tastevec.client.cli import main
from tastevec.client.home import Home
from tastevec.client.photo_suggestions import SuggestionModels, read_photos, score_photos
from tastevec.client.release_cache import load_current_release


def client(home: Path, *args: str) -> int:
    command, *rest = args
    return main([command, "--home", str(home), *rest])


@pytest.fixture
def photos(world: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    found = sorted((world / "databases" / "real_cur").rglob("*.jpg"))
    for source in {p.name: p for p in found}.values():
        if len(list(folder.iterdir())) < 12:
            shutil.copy(source, folder / source.name)
    (folder / "broken.jpg").write_bytes(b"not an image")
    return folder


@pytest.fixture
def home(tmp_path: Path, release: Path, trust: Path) -> Path:
    home = tmp_path / "home"
    assert client(home, "pull", "--from-dir", str(release), "--trust", str(trust)) == 0
    return home


def suggested(home: Path, photos: Path, n: int, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert client(home, "suggest", str(photos), "-n", str(n), "--json") == 0
    return [row["image"] for row in json.loads(capsys.readouterr().out)]


def test_suggest_follows_active_selection_and_leaves_out_rated_photos(
    home: Path, photos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = suggested(home, photos, 4, capsys)
    assert len(first) == 4 and len(set(first)) == 4
    assert all(Path(p).parent == photos for p in first)

    # the same choice from the models directly: D-optimal over own minus merged
    models = SuggestionModels.load(
        Home(home), load_current_release(Home(home)), torch.device("cpu")
    )
    scored = [
        p for batch in score_photos(models, sorted(photos.glob("*.jpg"))) for p in batch.photos
    ]
    vectors = active_selection.disagreement(
        np.stack([p.own for p in scored]), np.array([p.score for p in scored])
    )
    expected = [str(scored[i].path) for i in active_selection.choose(vectors, np.zeros((0, 6)), 4)]
    assert first == expected

    assert client(home, "rate", first[0], "4", "--scale", "1-5") == 0
    again = suggested(home, photos, 4, capsys)
    assert first[0] not in again
    assert again[0] == first[1]  # the next one after it, with its direction explored

    err = capsys.readouterr().err
    capsys.readouterr()
    assert client(home, "suggest", str(photos), "-n", "3") == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3
    assert "broken.jpg" in err and "population's default model" in err


def test_suggest_errors_are_one_line(home: Path, tmp_path: Path) -> None:
    assert client(home, "suggest", str(tmp_path / "missing")) == 2
    assert client(home, "suggest", str(tmp_path), "-n", "0") == 2


def test_own_scores_are_a_pass_of_their_own_kept_by_a_new_person_model(
    home: Path, photos: Path
) -> None:
    """The page runs the person's model and the own models in separate passes: the two
    halves give exactly what `score` gives, and reloading the person's model (after a fit
    or a forget) keeps the own models, so their scores stay valid."""
    release = load_current_release(Home(home))
    models = SuggestionModels.load(Home(home), release, torch.device("cpu"))
    paths = sorted(photos.glob("*.jpg"))[:4]
    names, _, images, _ = next(read_photos(paths, models.transform, min_side=models.decode_side))
    assert images is not None and len(names) == 4
    person, own = models.score(images)
    np.testing.assert_array_equal(person, models.score_person(images))
    np.testing.assert_array_equal(own, models.score_own(images))
    assert own.shape == (4, 6) and np.ptp(own, axis=1).min() > 0  # the task vectors disagree
    again = models.with_person(Home(home), release)
    assert again.own is models.own
    np.testing.assert_array_equal(again.score_own(images), own)
