"""The page's work that takes time, in background threads, so every request returns at once.

- Scoring: every photo of the library is read, hashed and scored. Two kinds of score, of
  very different cost:
    * the person's score (one forward pass of the person's model): what the ranking needs;
      it goes stale whenever the person's model changes (a fit, a forget), and is run again;
    * the own scores (one forward pass of each task vector's own model, K of them): what
      `photo_suggestions` needs to choose the next photo to rate. They depend on the
      photo's content only, so they are kept by the file's digest and stay valid across
      fits and forgets; only a photo whose bytes changed gets them again.
  So that a large folder's ranking is whole as soon as the person's model alone allows, and
  the "next photo" choice still works from the first minute, each batch is picked in this
  order (`_next_batch`):
    1. own sample: until `own_sample` readable photos (the first in the library's order)
       have own scores, a batch of them is scored by every model (person and own), so the
       rate page chooses among them right away;
    2. ranking: photos whose person score is missing or stale, person's model only;
    3. own scores for the rest, own models only (the person's score stays as it is).
  A photo without own scores yet is still rated "in order" on the page, never lost. Scores
  appear as each batch finishes (the page polls them), and only scores and digests are
  kept, never images: memory grows by a few numbers per photo.
- Fitting: one at a time, through `fit_person`, the one place the page calls the device's
  fit; its progress callback (fit_progress.py) keeps the latest stage and fraction in
  `fit_state`, which the page's status shows as a bar.
The two share one model lock, so a fit and a scoring batch never run on the CPU at once and
a batch never sees a half-replaced model; a batch begun under an older model generation is
dropped unstored (a batch at most of work).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from tastevec.client.fit_options import FitMode
from tastevec.client.fit_progress import FitProgress, ProgressCallback
from tastevec.client.fitting import fit_profile
from tastevec.client.home import Home
from tastevec.client.personal_profile import Profile
from tastevec.client.photo_suggestions import SuggestionModels, read_photos
from tastevec.client.release_cache import current_release_id, load_current_release
from tastevec.client.ui.photo_library import Photo, PhotoLibrary
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import TastevecError

logger = logging.getLogger(__name__)

BATCH = 16
OWN_SAMPLE = 128  # photos given own scores first, so the next-photo choice has a pool at once


def fit_person(home: Home, progress: ProgressCallback | None = None) -> Profile:
    """The device's fit, as `tastevec-client fit` runs it by default (the page's one seam)."""
    return fit_profile(home, FitMode.FAST, CoefficientLayout.BLOCK, progress=progress).profile


@dataclass
class FitState:
    state: str = "idle"  # idle | running | done | failed
    message: str = ""
    started: float | None = None
    seconds: float | None = None
    progress: FitProgress | None = None  # the latest stage the running fit reported

    def as_dict(self) -> dict[str, Any]:
        running = self.state == "running" and self.started is not None
        elapsed = time.monotonic() - self.started if running and self.started else self.seconds
        step = None if self.progress is None else self.progress.as_dict()
        return {"state": self.state, "message": self.message, "seconds": elapsed, "progress": step}


@dataclass
class PhotoScores:
    """What is known of one photo: its digest, the person's score and which model
    generation gave it, and the own models' scores of that content (None until the own
    models have run on it)."""

    sha256: str
    own: np.ndarray | None
    score: float
    generation: int


@dataclass
class Progress:
    scored: int = 0  # by the current person's model: the ranking's length
    total: int = 0  # readable photos
    generation: int = 0
    skipped: list[str] = field(default_factory=list)
    own_scored: int = 0  # with own scores: the next-photo choice's pool


class Background:
    """Scoring and fitting threads for one page."""

    def __init__(
        self,
        home: Home,
        library: PhotoLibrary,
        device: torch.device,
        fit: Callable[[Home, ProgressCallback], Profile] = fit_person,
        *,
        batch: int = BATCH,
        own_sample: int = OWN_SAMPLE,
    ) -> None:
        if batch < 1 or own_sample < 0:
            raise ValueError(f"batch {batch} must be >= 1 and own_sample {own_sample} >= 0")
        self.home = home
        self.library = library
        self.device = device
        self._fit = fit
        self._batch = batch
        self._own_sample = own_sample
        self.model_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the fields below
        self._models: SuggestionModels | None = None
        self._generation = 0  # bumped whenever the person's model changes
        self._scores: dict[str, PhotoScores] = {}
        self._skipped: dict[str, str] = {}  # photo id -> why it could not be read
        self._release: str | None = None
        self.model_note: str | None = None
        self.fit_state = FitState()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._scorer = threading.Thread(target=self._score_loop, name="tastevec-scoring")
        self._fitter: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._scorer.start()
        self.wake()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._scorer.join(timeout=60)
        if self._fitter is not None:
            self._fitter.join(timeout=600)

    def wake(self) -> None:
        self._wake.set()

    # -- what the page reads -----------------------------------------------------------------
    def progress(self) -> Progress:
        photos = self.library.photos()
        with self._lock:
            current = self._generation
            readable = [p for p in photos if p.id not in self._skipped]
            known = [s for p in readable if (s := self._scores.get(p.id)) is not None]
            skipped = list(self._skipped.values())
        scored = sum(1 for s in known if s.generation == current)
        own = sum(1 for s in known if s.own is not None)
        return Progress(scored, len(readable), current, skipped, own)

    def ranking(self) -> list[tuple[Photo, float]]:
        """Photos scored by the current model, best first."""
        photos = self.library.photos()
        with self._lock:
            current = self._generation
            known = {k: v for k, v in self._scores.items() if v.generation == current}
        ranked = [(p, known[p.id].score) for p in photos if p.id in known]
        ranked.sort(key=lambda item: (-item[1], str(item[0].path)))
        return ranked

    def scores_of(self, photos: list[Photo]) -> dict[str, PhotoScores]:
        """What is known of these photos (digest and scores), by id."""
        with self._lock:
            return {p.id: self._scores[p.id] for p in photos if p.id in self._scores}

    def unreadable(self) -> set[str]:
        with self._lock:
            return set(self._skipped)

    # -- the person's model changes ----------------------------------------------------------
    def start_fit(self) -> bool:
        """Start a fit in the background; False when one is running already."""
        with self._lock:
            if self.fit_state.state == "running":
                return False
            self.fit_state = FitState("running", "fitting your model", time.monotonic())
            self._fitter = threading.Thread(target=self._fit_once, name="tastevec-fit")
            self._fitter.start()
        return True

    def fit_running(self) -> bool:
        with self._lock:
            return self.fit_state.state == "running"

    def _fit_once(self) -> None:
        started = time.monotonic()
        try:
            with self.model_lock:
                profile = self._fit(self.home, self._fit_progress)
                self._reload_person()
            with self._lock:
                last = self.fit_state.progress
            state = FitState(
                "done",
                f"fitted from {profile.ratings} ratings",
                seconds=time.monotonic() - started,
                progress=last,
            )
        except TastevecError as exc:
            state = FitState("failed", str(exc), seconds=time.monotonic() - started)
        except Exception as exc:  # a bug: shown, logged, and the page keeps running
            logger.exception("fit failed")
            state = FitState("failed", f"fit failed: {exc}", seconds=time.monotonic() - started)
        with self._lock:
            self.fit_state = state
        self.wake()

    def _fit_progress(self, step: FitProgress) -> None:
        with self._lock:
            if self.fit_state.state == "running":
                self.fit_state.progress = step

    def model_changed(self) -> None:
        """After a forget: the person's model is the default again (call without locks)."""
        with self.model_lock:
            self._reload_person()
        self.wake()

    def _reload_person(self) -> None:
        """With the model lock held: load the person's model again, scores go stale."""
        with self._lock:
            models = self._models
        if models is not None:
            release = load_current_release(self.home)
            models = models.with_person(self.home, release)
        with self._lock:
            self._models = models
            self._generation += 1
            if models is not None:
                self.model_note = models.note

    # -- the scoring thread ------------------------------------------------------------------
    def _score_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._score_pending()
            except TastevecError as exc:
                logger.warning("scoring stopped: %s", exc)
                with self._lock:
                    self.model_note = str(exc)
            except Exception:
                logger.exception("scoring failed")

    def _ensure_models(self) -> SuggestionModels | None:
        release_id = current_release_id(self.home)
        if release_id is None:
            return None
        with self._lock:
            if self._models is not None and self._release == release_id:
                return self._models
        with self.model_lock:
            models = SuggestionModels.load(self.home, load_current_release(self.home), self.device)
        with self._lock:
            self._models, self._release = models, release_id
            self._generation += 1
            self.model_note = models.note
            return models

    def _score_pending(self) -> None:
        while not self._stop.is_set() and self.score_step() is not None:
            pass

    def score_step(self) -> str | None:
        """Score one batch in this thread: which pass it was ("own sample", "ranking",
        "own"), or None when every readable photo has both its scores (or no release)."""
        if self._ensure_models() is None:
            return None
        planned = self._next_batch()
        if planned is None:
            return None
        photos, with_own, generation, what = planned
        self._score_batch(photos, with_own, generation)
        return what

    def _next_batch(self) -> tuple[list[Photo], bool, int, str] | None:
        """The next batch: (photos, whether the own models run, generation, which pass)."""
        photos = self.library.photos()
        with self._lock:
            current = self._generation
            readable = [p for p in photos if p.id not in self._skipped]
            known = {p.id: self._scores.get(p.id) for p in readable}
        stale = [p for p in readable if (s := known[p.id]) is None or s.generation != current]
        no_own = [p for p in readable if (s := known[p.id]) is None or s.own is None]
        owned = len(readable) - len(no_own)
        if no_own and owned < self._own_sample:
            count = min(self._batch, self._own_sample - owned)
            return no_own[:count], True, current, "own sample"
        if stale:
            return stale[: self._batch], False, current, "ranking"
        if no_own:
            return no_own[: self._batch], True, current, "own"
        return None

    def _score_batch(self, photos: list[Photo], with_own: bool, generation: int) -> None:
        """Read `photos` once; run the person's model where its score is missing or stale
        (or the content changed), and the own models too when `with_own`."""
        by_path = {p.path: p for p in photos}
        with self._lock:
            models = self._models
        if models is None:
            return
        for names, digests, images, skipped in read_photos(
            [p.path for p in photos],
            models.transform,
            batch=len(photos),
            min_side=models.decode_side,
        ):
            with self._lock:
                for line in skipped:
                    for photo in photos:
                        if str(photo.path) in line:
                            self._skipped[photo.id] = line
            if images is None:
                continue
            with self.model_lock:
                with self._lock:
                    if self._generation != generation:
                        return  # the model changed meanwhile: this batch is stale
                    models = self._models
                    known = [self._scores.get(by_path[n].id) for n in names]
                assert models is not None
                person_current = [
                    k is not None and k.sha256 == d and k.generation == generation
                    for k, d in zip(known, digests, strict=True)
                ]
                person = None if all(person_current) else models.score_person(images)
                own = models.score_own(images) if with_own else None
            with self._lock:
                if self._generation != generation:
                    return
                for i, (name, sha) in enumerate(zip(names, digests, strict=True)):
                    old = known[i]
                    same = old is not None and old.sha256 == sha
                    if person is not None:
                        score = float(person[i])
                    else:
                        assert old is not None
                        score = old.score
                    row = own[i] if own is not None else (old.own if old and same else None)
                    self._scores[by_path[name].id] = PhotoScores(sha, row, score, generation)
