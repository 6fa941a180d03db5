"""`fit`: the person's ratings and the current release in, a saved profile out.

Modes: `fast` (ours, the default; see fast_fit.py, and from enough ratings the correction
of feature_correction.py) and `reference` (the paper's; see reference_fit.py). Layouts:
`global`, `block`, `tensor` (see common/coefficients.py).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from tastevec.client.fast_fit import fit_fast
from tastevec.client.feature_correction import (
    CORRECT_FROM_RATINGS,
    FeatureCorrection,
    fit_correction,
    scores_and_features,
)
from tastevec.client.fit_options import REFERENCE_STEPS, FitMode
from tastevec.client.home import Home
from tastevec.client.image_cache import ImageCache
from tastevec.client.personal_model import merged_model
from tastevec.client.personal_profile import Profile, save_profile
from tastevec.client.rated_images import load_rated_images
from tastevec.client.rating_requirements import check_ratings
from tastevec.client.ratings_store import Rating, RatingsStore
from tastevec.client.reference_fit import fit_reference
from tastevec.client.release_cache import load_current_release
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import composed_tensor_names
from tastevec.common.device import default_device
from tastevec.common.release_manifest import utc_now_iso
from tastevec.common.release_model import (
    load_release_model,
    load_release_prior,
    load_release_task_vectors,
)
from tastevec.common.score_model import ScoreModel

IMAGES_PER_PASS = 64  # rated images decoded at once for the correction


@dataclass(frozen=True, slots=True)
class FitOutcome:
    profile: Profile
    skipped: tuple[str, ...]


def fit_profile(
    home: Home,
    mode: FitMode,
    layout: CoefficientLayout,
    *,
    steps: int = REFERENCE_STEPS,
    use_prior: bool = True,
) -> FitOutcome:
    """Fit the current release's coefficients to the stored ratings; `steps`: reference only."""
    release = load_current_release(home)
    with RatingsStore.open(home.ratings) as store:
        ratings = store.ratings()
        scale = store.scale_of_ratings()
    check_ratings(ratings, layout, what="ratings")
    targets = {r.image_sha256: (r.score - scale.low) / (scale.high - scale.low) for r in ratings}
    device = default_device()
    base = load_release_model(release.root, release.manifest).to(device)
    vectors = load_release_task_vectors(release.root, release.manifest)
    transform = base.preprocessing.transform()
    prior = None
    if use_prior:
        prior = load_release_prior(release.root, release.manifest, layout.value)
    summary: dict[str, object]
    if mode is FitMode.FAST:
        with ImageCache.open(home.image_cache) as cache:
            fast = fit_fast(
                base,
                vectors,
                ratings,
                targets,
                layout=layout,
                cache=cache,
                release_id=release.manifest.release_id,
                load_images=lambda chosen: load_rated_images(chosen, transform),
                prior=prior,
            )
        solution = fast.solution
        coefficients, groups = solution.coefficients, solution.groups
        used, skipped = fast.ratings, fast.skipped
        summary = {
            "seconds": round(fast.seconds, 3),
            # None: the starting point was kept (the paper's or the prior's): fewer than
            # linear_rank_fit.STEP_FROM_RATINGS ratings, or cross-validation preferred it
            "alpha": solution.alpha if math.isfinite(solution.alpha) else None,
            "cv_srocc": round(solution.cv_srocc, 4),
            "images_run": fast.images_run,
            "zero_shot_srocc": [round(v, 4) for v in solution.zero_shot_srocc],
        }
    else:
        rated = load_rated_images(ratings, transform)
        check_ratings(list(rated.ratings), layout, what="readable rated images")
        y = torch.tensor([targets[r.image_sha256] for r in rated.ratings])
        reference = fit_reference(
            base, vectors, rated.images, y, layout=layout, steps=steps, prior=prior
        )
        names = composed_tensor_names(base.state_dict(), vectors)
        groups = CoefficientPlan.for_tensors(layout, names).groups
        coefficients, used, skipped = reference.coefficients, rated.ratings, rated.skipped
        summary = {
            "seconds": round(reference.seconds, 3),
            "steps": reference.steps,
            "final_loss": round(reference.final_loss, 4),
            "zero_shot_srocc": [round(v, 4) for v in reference.zero_shot_srocc],
        }
    summary["device"] = str(device)
    summary["prior_people"] = None if prior is None else prior.people
    profile = Profile(
        release_id=release.manifest.release_id,
        mode=mode.value,
        layout=layout.value,
        sources=tuple(v.source for v in vectors),
        groups=tuple(groups),
        coefficients=tuple(tuple(float(v) for v in row) for row in coefficients.tolist()),
        fitted_at=utc_now_iso(),
        ratings=len(used),
        summary=summary,
    )
    if mode is FitMode.FAST and len(used) >= CORRECT_FROM_RATINGS:
        started = time.perf_counter()
        merged = merged_model(base, vectors, profile)
        correction, unreadable = _fit_correction(merged, used, targets, transform)
        skipped = (*skipped, *(line for line in unreadable if line not in skipped))
        seconds = time.perf_counter() - started
        profile = dataclasses.replace(
            profile,
            summary={
                **summary,
                "seconds": round(fast.seconds + seconds, 3),
                "correction_seconds": round(seconds, 3),
                # None: no correction (it did not rank the ratings with the merged score)
                "correction_alpha": None if correction is None else correction.alpha,
            },
            correction=None if correction is None else tuple(correction.weights.tolist()),
            correction_bias=0.0 if correction is None else correction.bias,
        )
    save_profile(home.profiles, profile)
    return FitOutcome(profile, skipped)


def _fit_correction(
    merged: ScoreModel,
    ratings: Sequence[Rating],
    targets: dict[str, float],
    transform: Callable[[Image.Image], torch.Tensor],
) -> tuple[FeatureCorrection | None, tuple[str, ...]]:
    """The correction from the rated images the merged model can still read, streamed."""
    device = next(merged.parameters()).device
    scores: list[np.ndarray] = []
    features: list[np.ndarray] = []
    kept: list[Rating] = []
    skipped: list[str] = []
    for start in range(0, len(ratings), IMAGES_PER_PASS):
        rated = load_rated_images(ratings[start : start + IMAGES_PER_PASS], transform)
        skipped += rated.skipped
        if rated.ratings:
            batch_scores, batch_features = scores_and_features(merged, rated.images.to(device))
            scores.append(batch_scores)
            features.append(batch_features)
            kept += rated.ratings
    if not kept:
        return None, tuple(skipped)
    y = np.array([targets[r.image_sha256] for r in kept], np.float64)
    correction = fit_correction(
        np.concatenate(scores), np.concatenate(features), y, from_ratings=CORRECT_FROM_RATINGS
    )
    return correction, tuple(skipped)
