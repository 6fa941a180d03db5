"""tastevec's fast coefficient fit: a convex fit on the cached, linearised personal model.

1. Each rated image is run once per release: its score at the expansion point (the plain
   average of the task vectors, lambda0 = 1/K), each task vector's own score, and the
   Jacobian of its score in the per-tensor coefficients. These are cached, so a refit after
   more ratings only runs the new images.
2. The centre is the paper's initialisation, softmax(10 * zero-shot SROCC), from the cached
   own scores; with a population prior, a blend of it and the prior's mean that leans on
   the prior when the person has rated few images (`PRIOR_RATINGS`).
3. On the linearised model the pairwise rank loss plus a pull toward the centre is convex:
   L-BFGS solves it in milliseconds, and a trust region keeps every coefficient within
   `TRUST_RADIUS` of the centre, where the first-order model holds. From 50 ratings on
   (`linear_rank_fit.STEP_FROM_RATINGS`), cross-validation on the person's ratings chooses
   the pull's strength, or the centre itself; with fewer, stepping away from the paper's
   initialisation mostly fits noise, so the centre is the fit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tastevec.client import linear_rank_fit
from tastevec.client.image_cache import ImageCache, ImageValues
from tastevec.client.linearisation import expansion_digest, group_jacobian, linearise
from tastevec.client.rated_images import RatedImages
from tastevec.client.rating_requirements import check_ratings
from tastevec.client.ratings_store import Rating
from tastevec.client.zero_shot import initial_coefficients, own_scores, zero_shot_srocc
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.errors import FitError
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

TRUST_RADIUS = 0.3
# With a population prior the centre blends the paper's initialisation from the person's n
# ratings with the prior's mean: n / (n + PRIOR_RATINGS) of the first. Chosen on training
# people only (leave-one-out prior means, block layout; the benchmark's "How much the prior
# counts" table): at 5 ratings 10 beat the mean alone and no prior (+0.019), at 10 and 20 it
# stayed within 0.005 of no prior, where the mean alone lost 0.03-0.05. The mean alone had
# ignored the person's ratings below STEP_FROM_RATINGS.
PRIOR_RATINGS = 10


@dataclass(frozen=True, slots=True)
class FastSolution:
    coefficients: torch.Tensor  # [groups, K]
    groups: tuple[str, ...]
    zero_shot_srocc: tuple[float, ...]
    alpha: float
    cv_srocc: float


@dataclass(frozen=True, slots=True)
class FastFit:
    solution: FastSolution
    images_run: int
    ratings: tuple[Rating, ...]
    skipped: tuple[str, ...]
    seconds: float


def image_values(
    base: ScoreModel, vectors: Sequence[TaskVector], images: torch.Tensor
) -> list[ImageValues]:
    """What the fast fit needs of each image, computed at the expansion point 1/K."""
    composed = ComposedModel(base, vectors, CoefficientLayout.TENSOR, init=1.0 / len(vectors))
    scores, jacobians = linearise(composed, images)
    singles = own_scores(base, vectors, images)
    return [ImageValues(float(s), o, j) for s, o, j in zip(scores, singles, jacobians, strict=True)]


def fit_fast(
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    ratings: Sequence[Rating],
    targets: dict[str, float],
    *,
    layout: CoefficientLayout,
    cache: ImageCache,
    release_id: str,
    load_images: Callable[[Sequence[Rating]], RatedImages],
    prior: CoefficientPrior | None = None,
) -> FastFit:
    """Fit `layout` coefficients to `targets` (image sha256 -> score) of `ratings`."""
    started = time.perf_counter()
    k = len(vectors)
    names = composed_tensor_names(base.state_dict(), vectors)
    expansion = expansion_digest(torch.full((len(names), k), 1.0 / k))
    digests = [r.image_sha256 for r in ratings]
    values = cache.get(release_id, expansion, digests, tensors=len(names), vectors=k)
    missing = [r for r in ratings if r.image_sha256 not in values]
    skipped: tuple[str, ...] = ()
    if missing:
        rated = load_images(missing)
        skipped = rated.skipped
        if rated.ratings:
            device = next(base.parameters()).device
            computed = image_values(base, vectors, rated.images.to(device))
            new = {r.image_sha256: v for r, v in zip(rated.ratings, computed, strict=True)}
            cache.put(release_id, expansion, new)
            values.update(new)
    used = tuple(r for r in ratings if r.image_sha256 in values)
    check_ratings(used, layout, what="readable rated images")
    solution = fit_values(
        [values[r.image_sha256] for r in used],
        np.array([targets[r.image_sha256] for r in used], np.float64),
        CoefficientPlan.for_tensors(layout, names),
        prior=prior,
    )
    return FastFit(
        solution=solution,
        images_run=len(missing),
        ratings=used,
        skipped=skipped,
        seconds=time.perf_counter() - started,
    )


def fit_values(
    rows: Sequence[ImageValues],
    targets: np.ndarray,
    plan: CoefficientPlan,
    *,
    prior: CoefficientPrior | None = None,
    step_from: int = linear_rank_fit.STEP_FROM_RATINGS,
) -> FastSolution:
    """The fit itself, from each rated image's cached values and its target score;
    `step_from`: see `linear_rank_fit.fit`."""
    k = rows[0].single_scores.shape[0]
    jacobian = np.stack([row.jacobian for row in rows])
    features = group_jacobian(jacobian, plan).reshape(len(rows), -1).astype(np.float64)
    own = np.stack([row.single_scores for row in rows])
    sroccs = zero_shot_srocc(own, targets)
    if prior is not None and prior.layout is plan.layout:
        if tuple(prior.mean.shape) != (plan.num_groups, k):
            raise FitError(
                f"the prior has {tuple(prior.mean.shape)} coefficients; this model's "
                f"{plan.layout.value} layout has {(plan.num_groups, k)}"
            )
        precision = 1.0 / prior.variance.reshape(-1).double().numpy()
        scale = precision / precision.mean()
        prior_mean: np.ndarray | None = prior.mean.reshape(-1).double().numpy()
    else:
        scale, prior_mean = np.ones(plan.num_groups * k), None

    def penalty_for(subset: np.ndarray) -> linear_rank_fit.Penalty:
        centre = own_start(own[subset], targets[subset], plan.num_groups)
        if prior_mean is not None:
            centre = prior_blend(centre, prior_mean, len(subset))
        return linear_rank_fit.Penalty(centre, scale, TRUST_RADIUS)

    problem = linear_rank_fit.LinearProblem(
        np.array([row.score for row in rows], np.float64),
        features,
        np.full(features.shape[1], 1.0 / k),
    )
    fit = linear_rank_fit.fit(problem, targets, penalty_for, step_from=step_from)
    return FastSolution(
        coefficients=torch.tensor(
            fit.coefficients.reshape(plan.num_groups, k), dtype=torch.float32
        ),
        groups=plan.groups,
        zero_shot_srocc=sroccs,
        alpha=fit.alpha,
        cv_srocc=fit.cv_srocc,
    )


def own_start(own: np.ndarray, targets: np.ndarray, groups: int) -> np.ndarray:
    """The paper's initialisation from these ratings' own scores [n, K], the same for each of
    `groups` coefficient groups, flattened: [groups * K]."""
    init = initial_coefficients(zero_shot_srocc(own, targets))
    return np.tile(init.double().numpy(), groups)


def prior_blend(
    own_start: np.ndarray, prior_mean: np.ndarray, ratings: int, worth: float = PRIOR_RATINGS
) -> np.ndarray:
    """The centre with a prior: the prior's mean counts as `worth` ratings against the start
    from the person's own `ratings` (0: the prior is ignored; inf: the prior's mean alone)."""
    weight = ratings / (ratings + worth)
    return weight * own_start + (1.0 - weight) * prior_mean
