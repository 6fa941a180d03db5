"""The photos a person should rate next, from their own collection (`tastevec-client suggest`
and the page's "next photo").

The person's current model (their profile, else the population's default) and each task
vector's own model are merged once into plain models; every photo is read once, keyed by
the sha256 of the bytes it is decoded from, and scored by all of them. Rated photos (by
content, wherever they lie) tell what the ratings have explored already; the others are
ranked by `active_selection.choose`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tastevec.client import active_selection
from tastevec.client.home import Home
from tastevec.client.ratings_store import RatingsStore
from tastevec.client.release_cache import InstalledRelease, load_current_release
from tastevec.client.scoring_model import scoring_model
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.digests import sha256_bytes
from tastevec.common.errors import ImageError
from tastevec.common.images import decode_image, find_images, read_image_file
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.score_model import ScoreModel

BATCH = 16
_READERS = 2


@dataclass(frozen=True, slots=True)
class ScoredPhoto:
    """A photo as the models see it: its content digest, the person's model's score and
    each task vector's own score [K]."""

    path: Path
    sha256: str
    score: float
    own: np.ndarray


@dataclass(frozen=True, slots=True)
class PhotoBatch:
    photos: tuple[ScoredPhoto, ...]
    skipped: tuple[str, ...]


class SuggestionModels:
    """The person's model and the task vectors' own models, each merged once."""

    def __init__(self, person: ScoreModel, own: Sequence[ScoreModel], note: str | None) -> None:
        self.person = person
        self.own = tuple(own)
        self.note = note  # why the person's model is the population's default, if it is
        self.transform: Callable[[Image.Image], torch.Tensor] = person.preprocessing.transform()
        self.decode_side = person.preprocessing.decode_side
        self.device = next(person.parameters()).device

    @classmethod
    def load(cls, home: Home, release: InstalledRelease, device: torch.device) -> SuggestionModels:
        person, note = scoring_model(home, release, device)
        return cls(person, own_models(release, device), note)

    def with_person(self, home: Home, release: InstalledRelease) -> SuggestionModels:
        """The same own models with the person's model loaded again (after a fit or forget)."""
        person, note = scoring_model(home, release, self.device)
        return SuggestionModels(person, self.own, note)

    def score(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The person's scores [n] and the own models' [n, K] of preprocessed images."""
        return self.score_person(images), self.score_own(images)

    @torch.no_grad()
    def score_person(self, images: torch.Tensor) -> np.ndarray:
        """The person's model's scores [n] (one forward pass)."""
        return self.person(images.to(self.device)).float().cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def score_own(self, images: torch.Tensor) -> np.ndarray:
        """Each task vector's own model's scores [n, K] (K forward passes). They depend on
        the photo's content only, never on the person's model: a fit leaves them valid."""
        batch = images.to(self.device)
        own = np.stack([m(batch).float().cpu().numpy() for m in self.own], axis=1)
        return own.astype(np.float64)


@torch.no_grad()
def own_models(release: InstalledRelease, device: torch.device) -> list[ScoreModel]:
    """Each task vector's own model (coefficient 1 on it, 0 on the others), merged."""
    base = load_release_model(release.root, release.manifest)
    vectors = load_release_task_vectors(release.root, release.manifest)
    composed = ComposedModel(base, vectors, CoefficientLayout.GLOBAL).eval()
    models = []
    for one_hot in torch.eye(len(vectors)):
        composed.set_coefficients(one_hot)
        merged = composed.merge()
        assert isinstance(merged, ScoreModel)
        models.append(merged.to(device).eval())
    return models


def read_photos(
    paths: Iterable[Path],
    transform: Callable[[Image.Image], torch.Tensor],
    *,
    batch: int = BATCH,
    min_side: int | None = None,
) -> Iterator[tuple[list[Path], list[str], torch.Tensor | None, list[str]]]:
    """Batches of (paths, sha256s, images, skipped lines); each file read once, hashed and
    decoded from the same bytes (at no less than `min_side` pixels a side where the format
    allows), two files at a time, a bounded number ahead."""

    def work(path: Path) -> tuple[str, torch.Tensor]:
        data = read_image_file(path)
        return sha256_bytes(data), transform(decode_image(data, path, min_side=min_side))

    iterator = iter(paths)
    with ThreadPoolExecutor(_READERS, thread_name_prefix="tastevec-photos") as pool:
        while True:
            chunk = [p for _, p in zip(range(batch), iterator, strict=False)]
            if not chunk:
                return
            names, digests, tensors, skipped = [], [], [], []
            for path, future in [(p, pool.submit(work, p)) for p in chunk]:
                try:
                    sha, tensor = future.result()
                except ImageError as exc:
                    skipped.append(str(exc))
                    continue
                names.append(path)
                digests.append(sha)
                tensors.append(tensor)
            yield names, digests, (torch.stack(tensors) if tensors else None), skipped


def score_photos(
    models: SuggestionModels, paths: Iterable[Path], *, batch: int = BATCH
) -> Iterator[PhotoBatch]:
    """Every readable photo of `paths`, scored by the person's and the own models, streamed."""
    for names, digests, images, skipped in read_photos(
        paths, models.transform, batch=batch, min_side=models.decode_side
    ):
        photos: tuple[ScoredPhoto, ...] = ()
        if images is not None:
            person, own = models.score(images)
            photos = tuple(
                ScoredPhoto(path, sha, float(s), o)
                for path, sha, s, o in zip(names, digests, person, own, strict=True)
            )
        yield PhotoBatch(photos, tuple(skipped))


def choose_photos(photos: Sequence[ScoredPhoto], rated: set[str], count: int) -> list[ScoredPhoto]:
    """Up to `count` of the unrated `photos` to rate next, best first (one per content)."""
    seen: set[str] = set()
    candidates: list[ScoredPhoto] = []
    for photo in photos:
        if photo.sha256 not in rated and photo.sha256 not in seen:
            seen.add(photo.sha256)
            candidates.append(photo)
    if not candidates:
        return []
    done = {p.sha256: p for p in photos if p.sha256 in rated}.values()
    k = candidates[0].own.shape[0]

    def vectors(group: Iterable[ScoredPhoto]) -> np.ndarray:
        rows = list(group)
        if not rows:
            return np.zeros((0, k))
        return active_selection.disagreement(
            np.stack([p.own for p in rows]), np.array([p.score for p in rows])
        )

    picks = active_selection.choose(vectors(candidates), vectors(done), count)
    return [candidates[i] for i in picks]


@dataclass(frozen=True, slots=True)
class Suggestions:
    chosen: tuple[ScoredPhoto, ...]
    unrated: int
    skipped: tuple[str, ...]
    note: str | None


def suggest(home: Home, folders: Sequence[Path], count: int, device: torch.device) -> Suggestions:
    """`count` photos of `folders` to rate next. The photos already rated count wherever
    they are now (their last known paths are read too)."""
    release = load_current_release(home)
    models = SuggestionModels.load(home, release, device)
    rated: set[str] = set()
    extra: list[Path] = []
    if home.ratings.exists():
        with RatingsStore.open(home.ratings) as store:
            ratings = store.ratings()
        rated = {r.image_sha256 for r in ratings}
        extra = [Path(r.path) for r in ratings]
    paths: list[Path] = []
    for folder in folders:
        paths += find_images(folder)
    listed = {p.resolve() for p in paths}
    known = [p for p in extra if p.resolve() not in listed and p.is_file()]
    photos: list[ScoredPhoto] = []
    skipped: list[str] = []
    for part in score_photos(models, [*paths, *known]):
        photos += part.photos
        skipped += part.skipped
    in_folders = [p for p in photos if p.path.resolve() in listed]
    extra_rated = [p for p in photos if p.path.resolve() not in listed and p.sha256 in rated]
    chosen = choose_photos([*in_folders, *extra_rated], rated, count)
    unrated = len({p.sha256 for p in in_folders if p.sha256 not in rated})
    return Suggestions(tuple(chosen), unrated, tuple(skipped), models.note)
