"""`fit`: the person's ratings and the current release in, a saved profile out.

Modes: `fast` (ours, the default; see fast_fit.py) and `reference` (the paper's; see
reference_fit.py). Layouts: `global`, `block`, `tensor` (see common/coefficients.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import torch

from tastevec.client.fast_fit import fit_fast
from tastevec.client.home import Home
from tastevec.client.image_cache import ImageCache
from tastevec.client.personal_profile import Profile, save_profile
from tastevec.client.rated_images import load_rated_images
from tastevec.client.rating_requirements import check_ratings
from tastevec.client.ratings_store import RatingsStore
from tastevec.client.reference_fit import STEPS, fit_reference
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


class FitMode(StrEnum):
    FAST = "fast"
    REFERENCE = "reference"


@dataclass(frozen=True, slots=True)
class FitOutcome:
    profile: Profile
    skipped: tuple[str, ...]


def fit_profile(
    home: Home,
    mode: FitMode,
    layout: CoefficientLayout,
    *,
    steps: int = STEPS,
    use_prior: bool = True,
) -> FitOutcome:
    """Fit the current release's coefficients to the stored ratings; `steps`: reference only."""
    release = load_current_release(home)
    with RatingsStore.open(home.ratings) as store:
        ratings = store.ratings()
        scale = store.scale()
    check_ratings(ratings, layout, what="ratings")
    assert scale is not None  # a store with ratings has a scale
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
    save_profile(home.profiles, profile)
    return FitOutcome(profile, skipped)
