"""tastevec's fast coefficient fit: a convex fit on the cached, linearised personal model.

1. Each rated image is run once per model: its score at the expansion point (the plain
   average of the task vectors, lambda0 = 1/K), each task vector's own score, and the
   Jacobian of its score in the per-tensor coefficients. These are cached under the model's
   id (`Manifest.model_id`), so a refit after more ratings, or with a new prior, only runs
   the new images.
2. The centre is the paper's initialisation, softmax(10 * zero-shot SROCC), from the cached
   own scores, its 10 tempered for few ratings (`FitConfig.start_ratings`); with a
   population prior, a blend of it and the prior's mean that leans on the prior when the
   person has rated few images (`FitConfig.prior_ratings`).
3. On the linearised model the pairwise rank loss plus a pull toward the centre is convex:
   L-BFGS solves it in milliseconds, and a trust region keeps every coefficient within
   `FitConfig.trust_radius` of the centre, where the first-order model holds. From
   `FitConfig.step_from_ratings` ratings on, cross-validation on the person's ratings chooses
   the pull's strength, or the centre itself; with fewer, stepping away from the paper's
   initialisation mostly fits noise: the fit keeps the centre, or steps under a fixed pull
   that weakens with each rating (with a prior, its own precision: `FitConfig.prior_weight`;
   without, `FitConfig.step_weight`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tastevec.client import linear_rank_fit
from tastevec.client.fit_config import DEFAULT_FIT_CONFIG, FitConfig
from tastevec.client.fit_progress import ProgressCallback, report
from tastevec.client.image_cache import ImageCache, ImageValues
from tastevec.client.linearisation import expansion_digest, group_jacobian, linearise
from tastevec.client.rated_images import RatedImages
from tastevec.client.rating_requirements import check_ratings
from tastevec.client.ratings_store import Rating
from tastevec.client.zero_shot import (
    OwnModels,
    initial_coefficients,
    start_temperature,
    zero_shot_srocc,
)
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.errors import FitError
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

# Rated images read and run at once for their values. 4, not 16: the per-sample Jacobian
# holds every batch image's recorded activations, so the batch sets the fit's peak memory.
# A cold `fit` of 100 12-megapixel JPEGs (224 px release, 2 cores, interleaved runs) took
# 2.75 GB and 26 s at 4 against 4.12 GB and 32 s at 16; at 1 the peak of a 10-rating fit
# is 1.39 GB, what the process holds besides.
EMBED_BATCH = 4
EMBED_STAGE = "reading and embedding your rated images"


@dataclass(frozen=True, slots=True)
class FastSolution:
    coefficients: torch.Tensor  # [groups, K]
    groups: tuple[str, ...]
    zero_shot_srocc: tuple[float, ...]
    alpha: float
    cv_srocc: float


@dataclass(frozen=True, slots=True)
class RatedValues:
    """The fast fit's values of each readable rated image, from the cache or computed now."""

    values: tuple[ImageValues, ...]
    ratings: tuple[Rating, ...]  # the readable ratings, in `values`' order
    skipped: tuple[str, ...]
    images_run: int
    seconds: float


class ImageValuer:
    """What the fast fit needs of each image, computed at the expansion point 1/K, batch after
    batch: the composition and the task vectors' own models are built once."""

    def __init__(self, base: ScoreModel, vectors: Sequence[TaskVector]) -> None:
        k = len(vectors)
        self.composed = ComposedModel(base, vectors, CoefficientLayout.TENSOR, init=1.0 / k)
        self.own = OwnModels(base, vectors)

    def __call__(self, images: torch.Tensor) -> list[ImageValues]:
        scores, jacobians = linearise(self.composed, images)
        singles = self.own.scores(images)
        return [
            ImageValues(float(s), o, j) for s, o, j in zip(scores, singles, jacobians, strict=True)
        ]


def image_values(
    base: ScoreModel, vectors: Sequence[TaskVector], images: torch.Tensor
) -> list[ImageValues]:
    """The values of one batch of images (ImageValuer, for one batch)."""
    return ImageValuer(base, vectors)(images)


def values_expansion(base: ScoreModel, vectors: Sequence[TaskVector]) -> str:
    """The digest of the expansion point (1/K on every tensor) the cached values are taken at."""
    names = composed_tensor_names(base.state_dict(), vectors)
    return expansion_digest(torch.full((len(names), len(vectors)), 1.0 / len(vectors)))


def rated_values(
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    ratings: Sequence[Rating],
    *,
    layout: CoefficientLayout,
    cache: ImageCache,
    model_id: str,
    load_images: Callable[[Sequence[Rating]], RatedImages],
    progress: ProgressCallback | None = None,
) -> RatedValues:
    """Each rated image's values: the cached ones, and the missing ones computed (and cached),
    `EMBED_BATCH` images at a time; `progress` hears of each batch (images i of N)."""
    started = time.perf_counter()
    k = len(vectors)
    names = composed_tensor_names(base.state_dict(), vectors)
    expansion = values_expansion(base, vectors)
    digests = [r.image_sha256 for r in ratings]
    values = cache.get(model_id, expansion, digests, tensors=len(names), vectors=k)
    missing = [r for r in ratings if r.image_sha256 not in values]
    skipped: list[str] = []
    report(progress, EMBED_STAGE, 0, len(missing))
    valuer: ImageValuer | None = None  # built at the first batch to run, then reused
    for start in range(0, len(missing), EMBED_BATCH):
        rated = load_images(missing[start : start + EMBED_BATCH])
        skipped += rated.skipped
        if rated.ratings:
            valuer = valuer or ImageValuer(base, vectors)
            device = next(base.parameters()).device
            computed = valuer(rated.images.to(device))
            new = {r.image_sha256: v for r, v in zip(rated.ratings, computed, strict=True)}
            cache.put(model_id, expansion, new)
            values.update(new)
        report(progress, EMBED_STAGE, min(start + EMBED_BATCH, len(missing)), len(missing))
    used = tuple(r for r in ratings if r.image_sha256 in values)
    check_ratings(used, layout, what="readable rated images")
    return RatedValues(
        values=tuple(values[r.image_sha256] for r in used),
        ratings=used,
        skipped=tuple(skipped),
        images_run=len(missing),
        seconds=time.perf_counter() - started,
    )


def fit_values(
    rows: Sequence[ImageValues],
    targets: np.ndarray,
    plan: CoefficientPlan,
    *,
    prior: CoefficientPrior | None = None,
    config: FitConfig = DEFAULT_FIT_CONFIG,
    expansion: np.ndarray | None = None,
) -> FastSolution:
    """The coefficient fit itself, from each rated image's cached values and its target score
    (the whole device pipeline, with the correction, is personal_fit.fit_personal_model).
    `expansion` [groups * K]: the point the values were taken at (None: 1/K everywhere)."""
    k = rows[0].single_scores.shape[0]
    if prior is not None and prior.layout is plan.layout:
        if tuple(prior.mean.shape) != (plan.num_groups, k):
            raise FitError(
                f"the prior has {tuple(prior.mean.shape)} coefficients; this model's "
                f"{plan.layout.value} layout has {(plan.num_groups, k)}"
            )
        precision = 1.0 / prior.variance.reshape(-1).double().numpy()
        scale = precision / precision.mean()
        prior_mean: np.ndarray | None = prior.mean.reshape(-1).double().numpy()
        alpha_below = config.prior_weight * float(precision.mean()) / len(rows)
    else:
        scale, prior_mean = np.ones(plan.num_groups * k), None
        alpha_below = config.step_weight / len(rows)
    return penalised_fit(
        rows,
        targets,
        plan,
        prior_mean=prior_mean,
        precision=scale,
        alpha_below=alpha_below,
        config=config,
        expansion=expansion,
    )


def penalised_fit(
    rows: Sequence[ImageValues],
    targets: np.ndarray,
    plan: CoefficientPlan,
    *,
    prior_mean: np.ndarray | None,
    precision: np.ndarray,
    alpha_below: float = np.inf,
    config: FitConfig = DEFAULT_FIT_CONFIG,
    expansion: np.ndarray | None = None,
) -> FastSolution:
    """`fit_values` once the prior is read: `prior_mean` [groups * K] (None: no prior) is
    blended into the centre, and `precision` (relative, [groups * K] or a full matrix
    [groups * K, groups * K]) weighs the pull toward it; below `config.step_from_ratings`
    the fit is at `alpha_below` (inf: the centre). `expansion` [groups * K]: where the
    values were taken (None: 1/K)."""
    k = rows[0].single_scores.shape[0]
    jacobian = np.stack([row.jacobian for row in rows])
    features = group_jacobian(jacobian, plan).reshape(len(rows), -1).astype(np.float64)
    own = np.stack([row.single_scores for row in rows])
    sroccs = zero_shot_srocc(own, targets)

    def penalty_for(subset: np.ndarray) -> linear_rank_fit.Penalty:
        centre = own_start(own[subset], targets[subset], plan.num_groups, config.start_ratings)
        if prior_mean is not None:
            centre = prior_blend(centre, prior_mean, len(subset), config.prior_ratings)
        return linear_rank_fit.Penalty(centre, precision, config.trust_radius)

    problem = linear_rank_fit.LinearProblem(
        np.array([row.score for row in rows], np.float64),
        features,
        np.full(features.shape[1], 1.0 / k) if expansion is None else expansion,
    )
    fit = linear_rank_fit.fit(
        problem, targets, penalty_for, step_from=config.step_from_ratings, alpha_below=alpha_below
    )
    return FastSolution(
        coefficients=torch.tensor(
            fit.coefficients.reshape(plan.num_groups, k), dtype=torch.float32
        ),
        groups=plan.groups,
        zero_shot_srocc=sroccs,
        alpha=fit.alpha,
        cv_srocc=fit.cv_srocc,
    )


def own_start(
    own: np.ndarray, targets: np.ndarray, groups: int, start_ratings: float
) -> np.ndarray:
    """The paper's initialisation from these ratings' own scores [n, K], its temperature
    tempered by `start_ratings` (`zero_shot.start_temperature`; 0: the paper's), the same for
    each of `groups` coefficient groups, flattened: [groups * K]."""
    temperature = start_temperature(len(targets), start_ratings)
    init = initial_coefficients(zero_shot_srocc(own, targets), temperature)
    return np.tile(init.double().numpy(), groups)


def prior_blend(
    own_start: np.ndarray, prior_mean: np.ndarray, ratings: int, worth: float
) -> np.ndarray:
    """The centre with a prior: the prior's mean counts as `worth` ratings against the start
    from the person's own `ratings` (0: the prior is ignored; inf: the prior's mean alone)."""
    weight = ratings / (ratings + worth)
    return weight * own_start + (1.0 - weight) * prior_mean
