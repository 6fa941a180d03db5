"""The page's scoring on a large folder, in its passes (background.py): a first sample of
photos gets every model's scores, so the next-photo choice works at once; then the person's
model alone until the ranking is whole; then the own models on the rest. After a model
change only the person's model runs again: own scores are kept by content.

Shown small (16 photos, batches of 4, a sample of 4) and driven one batch at a time
(`score_step`) under the real app served from this process, so "before the own scores" is
certain on any machine; the scores are checked against the models run directly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.photo_suggestions import SuggestionModels, score_photos
from tastevec.client.release_cache import load_current_release
from tastevec.client.ui.background import OWN_SAMPLE, Background
from tastevec.client.ui.photo_library import PhotoLibrary

from .conftest import PHOTOS, InProcess, serve_in_process

BATCH, SAMPLE = 4, 4


def rate(page: InProcess, ident: str, stars: int) -> None:
    answer = page.http.post("/api/rate", json={"id": ident, "stars": stars}, headers=page.origin)
    assert answer.status_code == 200, answer.text


def test_ranking_whole_before_own_scores_and_suggestions_from_the_first_batch(
    page_home: Path, photo_folder: Path
) -> None:
    home = Home(page_home)
    library = PhotoLibrary(home)
    library.add(photo_folder)
    work = Background(home, library, torch.device("cpu"), batch=BATCH, own_sample=SAMPLE)
    order = [p.id for p in library.photos()]
    with serve_in_process(home, library, work, scoring=False) as page:
        status = page.http.get("/api/status").json()
        assert (status["scored"], status["own_scored"], status["total"]) == (0, 0, PHOTOS)
        nothing_yet = page.http.get("/api/next").json()
        assert (nothing_yet["how"], nothing_yet["id"]) == ("in order", order[0])

        assert work.score_step() == "own sample"  # one batch: the sample, every model
        status = page.http.get("/api/status").json()
        assert (status["scored"], status["own_scored"]) == (SAMPLE, SAMPLE)
        early = page.http.get("/api/next").json()
        assert early["how"] == "chosen" and early["id"] in order[:SAMPLE]
        assert early["unrated"] == PHOTOS

        steps = []
        while page.http.get("/api/ranking").json()["ranked"] < PHOTOS:
            steps.append(work.score_step())
        assert steps == ["ranking"] * ((PHOTOS - SAMPLE) // BATCH)  # the person's model only
        ranking = page.http.get(f"/api/ranking?limit={PHOTOS}").json()
        status = page.http.get("/api/status").json()
        assert ranking["scored"] == ranking["total"] == PHOTOS  # whole: the page shows it done
        assert status["own_scored"] == SAMPLE  # before the own scores of the rest
        scores = [item["score"] for item in ranking["items"]]
        assert scores == sorted(scores, reverse=True)

        # suggestions keep coming from the sample; when it is all rated, the rest in order
        for stars in (1, 3, 5, 2):
            chosen = page.http.get("/api/next").json()
            assert chosen["how"] == "chosen" and chosen["id"] in order[:SAMPLE]
            rate(page, chosen["id"], stars)
        after_sample = page.http.get("/api/next").json()
        assert (after_sample["how"], after_sample["id"]) == ("in order", order[SAMPLE])
        assert after_sample["unrated"] == PHOTOS - SAMPLE

        while (step := work.score_step()) is not None:
            assert step == "own"
        status = page.http.get("/api/status").json()
        assert (status["scored"], status["own_scored"]) == (PHOTOS, PHOTOS)
        late = page.http.get("/api/next").json()
        assert late["how"] == "chosen" and late["id"] in order[SAMPLE:]

        # the scores are the models' own, run directly on the photos
        models = SuggestionModels.load(home, load_current_release(home), torch.device("cpu"))
        direct = {
            p.path: p
            for part in score_photos(models, [q.path for q in library.photos()])
            for p in part.photos
        }
        known = work.scores_of(library.photos())
        for photo in library.photos():
            own = known[photo.id].own
            assert own is not None
            np.testing.assert_allclose(own, direct[photo.path].own, rtol=1e-5, atol=1e-6)
            assert abs(known[photo.id].score - direct[photo.path].score) < 1e-5

        # a model change (a forget reloads the person's model): the ranking is scored
        # again, the own scores are kept as they were, never computed again
        kept = {i: s.own for i, s in known.items()}
        generation = work.progress().generation
        work.model_changed()
        assert work.progress().generation == generation + 1
        assert page.http.get("/api/ranking").json()["ranked"] == 0
        again = []
        while (step := work.score_step()) is not None:
            again.append(step)
        assert again == ["ranking"] * (PHOTOS // BATCH)
        known = work.scores_of(library.photos())
        assert all(known[i].own is kept[i] for i in kept)
        assert page.http.get("/api/ranking").json()["ranked"] == PHOTOS


def test_own_sample_option_refuses_a_negative_count_and_states_its_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    assert client_main(["ui", "--home", home, "--no-browser", "--own-sample", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--own-sample must be 0 or more, got -1" in err
    with pytest.raises(SystemExit):
        client_main(["ui", "--help"])
    assert f"default: {OWN_SAMPLE};" in " ".join(capsys.readouterr().out.split())
