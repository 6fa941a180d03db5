"""The photo world's people and what the personalization benchmark computes once per image:
each image's pixels, its fast-fit values and its backbone features, plus scoring with a merged
model (with the feature correction, as the device scores) and the NaN-free metrics the tables
use."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tastevec.client.fast_fit import FastSolution, ImageValuer
from tastevec.client.feature_correction import scores_and_features
from tastevec.client.fit_config import FitConfig
from tastevec.client.image_cache import ImageValues
from tastevec.client.personal_fit import PixelImages, fit_personal_model, merger
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.composition import ComposedModel
from tastevec.common.datasets.catalog import load_people_ratings
from tastevec.common.datasets.records import PeopleRatings
from tastevec.common.images import iter_image_batches
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector
from tastevec.simulations.world.build import WORLD_FILE

# The held-out test people: FLICKR-AES-like and PARA-like raters on the training domain, and
# REAL-CUR-like album owners on the held-out domain.
TEST_GROUPS = (("flickr_aes", "test"), ("para", "test"), ("real_cur", "test"))
# The device's fit config every benchmark fits with (`bench_fit_config()`); one place that a
# test on the small world (30 ratings a person) replaces to let the correction start earlier.
FIT_CONFIG = FitConfig()


def bench_fit_config() -> FitConfig:
    return FIT_CONFIG


@dataclass(frozen=True, slots=True)
class Person:
    group: str
    name: str
    images: tuple[Path, ...]
    targets: np.ndarray


@dataclass
class ImageTable:
    """Everything the methods need of each image, computed once per image."""

    index: dict[Path, int] = field(default_factory=dict)
    pixels: list[torch.Tensor] = field(default_factory=list)
    values: list[ImageValues] = field(default_factory=list)
    base_features: list[np.ndarray] = field(default_factory=list)
    generic_features: list[np.ndarray] = field(default_factory=list)
    seconds_per_image: float = 0.0

    def rows(self, person: Person) -> np.ndarray:
        return np.array([self.index[p] for p in person.images])

    def pixels_of(self, rows: Iterable[int]) -> torch.Tensor:
        """[len(rows), 3, H, W]: the preprocessed images of `rows`."""
        return torch.stack([self.pixels[i] for i in rows])


def safe_metric(metric, pred, truth) -> float:  # type: ignore[no-untyped-def]
    pred = np.asarray(pred, np.float64)
    return 0.0 if np.ptp(pred) == 0 else float(metric(pred, truth))


@dataclass(frozen=True, slots=True)
class SupportDraw:
    """One random split of a person's rated images: `count` support ratings to fit, the rest
    held out to score."""

    index: int  # the person's position in the people drawn from
    person: Person
    count: int
    support: np.ndarray  # table rows
    held: np.ndarray
    targets: np.ndarray  # the support's ratings
    truth: np.ndarray  # the held-out images' ratings


def support_draws(
    people: Sequence[Person],
    table: ImageTable,
    shots: Sequence[int],
    draws: int,
    rng: np.random.Generator,
) -> Iterator[SupportDraw]:
    """`draws` splits per person and number of shots, skipping counts that leave fewer than
    5 images to score."""
    for index, person in enumerate(people):
        rows = table.rows(person)
        for count in shots:
            if count >= len(rows) - 5:
                continue
            for _ in range(draws):
                order = rng.permutation(len(rows))
                yield SupportDraw(
                    index,
                    person,
                    count,
                    rows[order[:count]],
                    rows[order[count:]],
                    person.targets[order[:count]],
                    person.targets[order[count:]],
                )


def load_people(world: Path, groups: Sequence[tuple[str, str]], limit: int | None) -> list[Person]:
    """The photo world's people of each (database, split) in `groups`, `limit` per group."""
    spec = json.loads((world / WORLD_FILE).read_text())["databases"]
    people = []
    for database, split in groups:
        entry = spec[database]
        ratings = load_people_ratings(database, world / entry["path"], **entry["people_options"])
        people += people_of(ratings, split, limit)
    return people


def people_of(ratings: PeopleRatings, split: str, limit: int | None) -> list[Person]:
    """The people of one split of a personal database, as loaded by its loader."""
    return [
        Person(
            ratings.info.name,
            person.person,
            tuple(item.path for item in person.ratings),
            np.array([item.score for item in person.ratings]),
        )
        for person in ratings.split(split)[:limit]
    ]


def build_table(
    people: Sequence[Person],
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    generic: ScoreModel | None,
    image_size: int | None,
) -> ImageTable:
    """The table of every image the people rated; `generic` None: no backbone features (only
    the fast fit's values and the pixels)."""
    table = ImageTable()
    paths = sorted({p for person in people for p in person.images})
    preprocessing = base.preprocessing
    if image_size is not None:
        preprocessing = preprocessing.with_size(image_size)
    values_seconds = 0.0  # the fast fit's per-image values only, not the baselines' features
    valuer = ImageValuer(base, vectors)
    batches = iter_image_batches(
        paths, preprocessing.transform(), batch_size=32, min_side=preprocessing.decode_side
    )
    for batch in batches:
        if generic is not None:
            with torch.no_grad():
                table.base_features += list(base.features(batch.images).numpy())
                table.generic_features += list(generic.features(batch.images).numpy())
        started = time.perf_counter()
        table.values += valuer(batch.images)
        values_seconds += time.perf_counter() - started
        for path, pixels in zip(batch.paths, batch.images, strict=True):
            table.index[path] = len(table.pixels)
            table.pixels.append(pixels)
    table.seconds_per_image = values_seconds / max(len(paths), 1)
    return table


@dataclass(frozen=True, slots=True)
class PersonalScores:
    """The device's fit (personal_fit.fit_personal_model) on a support, and its scores on
    held-out images with the real merged model, as the device scores."""

    solution: FastSolution
    held: np.ndarray  # with the feature correction, when the support gives one
    coefficients_only: np.ndarray  # the merged model alone
    seconds: float  # the coefficients' fit
    correction_seconds: float  # the support's pass and the correction's fit


def merged_with(composed: ComposedModel, coefficients: torch.Tensor) -> ScoreModel:
    """A plain score model with `coefficients` merged into the base."""
    return merger(composed)(coefficients)


@torch.no_grad()
def personal_scores(
    composed: ComposedModel,
    values: Sequence[ImageValues],
    support_targets: np.ndarray,
    plan: CoefficientPlan,
    support_pixels: torch.Tensor,
    held_pixels: torch.Tensor,
    prior: CoefficientPrior | None = None,
    config: FitConfig | None = None,
) -> PersonalScores:
    """Fit the support as the device does, under `config` (default `bench_fit_config()`),
    and score `held_pixels`."""
    personal = fit_personal_model(
        values,
        support_targets,
        plan,
        prior,
        config or bench_fit_config(),
        merge=merger(composed),
        images=PixelImages(support_pixels),
    )
    merged = personal.merged or merged_with(composed, personal.solution.coefficients)
    held, held_features = scores_and_features(merged, held_pixels)
    corrected = (
        held if personal.correction is None else personal.correction.apply(held, held_features)
    )
    return PersonalScores(
        personal.solution, corrected, held, personal.seconds, personal.correction_seconds
    )


@torch.no_grad()
def real_scores(
    composed: ComposedModel, coefficients: torch.Tensor, images: torch.Tensor
) -> np.ndarray:
    merged = merged_with(composed, coefficients)
    return torch.cat([merged(images[i : i + 64]) for i in range(0, len(images), 64)]).numpy()
