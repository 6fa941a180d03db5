"""`fit`: the person's ratings and the current release in, a saved profile out.

Modes: `fast` (ours, the default; see fast_fit.py, and from enough ratings the correction
of feature_correction.py) and `reference` (the paper's; see reference_fit.py). Layouts:
`global`, `block`, `tensor` (see common/coefficients.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from tastevec.client.fast_fit import rated_values
from tastevec.client.feature_correction import FeatureCorrection, scores_and_features
from tastevec.client.fit_config import DEFAULT_FIT_CONFIG, FitConfig
from tastevec.client.fit_options import REFERENCE_STEPS, FitMode
from tastevec.client.fit_progress import ProgressCallback, monotone, report, within
from tastevec.client.home import Home
from tastevec.client.image_cache import ImageCache
from tastevec.client.personal_fit import CORRECTION_STAGE, fit_personal_model, merger
from tastevec.client.personal_profile import Profile, save_profile
from tastevec.client.rated_images import load_rated_images
from tastevec.client.rating_requirements import check_ratings
from tastevec.client.ratings_store import Rating, RatingsStore
from tastevec.client.reference_fit import fit_reference
from tastevec.client.release_cache import load_current_release
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.device import default_device
from tastevec.common.release_manifest import utc_now_iso
from tastevec.common.release_model import (
    load_release_model,
    load_release_prior,
    load_release_task_vectors,
)
from tastevec.common.score_model import ScoreModel

IMAGES_PER_PASS = 64  # rated images decoded at once for the correction
LOAD_STAGE = "loading the release"
REFERENCE_STAGE = "training (the reference fit)"
SAVE_STAGE = "saving your profile"
# each stage's share of the fit's progress (fast mode): release, rated images' values, the
# coefficients and correction (personal_fit), saving
VALUES_FROM, MODEL_FROM, SAVE_FROM = 0.05, 0.75, 0.98


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
    config: FitConfig = DEFAULT_FIT_CONFIG,
    progress: ProgressCallback | None = None,
) -> FitOutcome:
    """Fit the current release's coefficients to the stored ratings; `steps`: reference only;
    `config`: the fast fit's (fit_config.py), recorded in the profile; `progress` hears each
    stage (fit_progress.py), its fraction never falling and 1.0 once the profile is saved."""
    progress = None if progress is None else monotone(progress)
    report(within(progress, 0.0, VALUES_FROM), LOAD_STAGE, 0, 1)
    release = load_current_release(home)
    with RatingsStore.open(home.ratings) as store:
        ratings = store.ratings()
        scale = store.scale_of_ratings()
    check_ratings(ratings, layout, what="ratings")
    targets = {r.image_sha256: (r.score - scale.low) / (scale.high - scale.low) for r in ratings}
    device = default_device()
    base = load_release_model(release.root, release.manifest).to(device)
    vectors = load_release_task_vectors(release.root, release.manifest)
    transform, side = base.preprocessing.transform(), base.preprocessing.decode_side
    prior = None
    if use_prior:
        prior = load_release_prior(release.root, release.manifest, layout.value)
    names = composed_tensor_names(base.state_dict(), vectors)
    groups = CoefficientPlan.for_tensors(layout, names).groups
    report(within(progress, 0.0, VALUES_FROM), LOAD_STAGE, 1, 1)
    summary: dict[str, object]
    correction: FeatureCorrection | None = None
    if mode is FitMode.FAST:
        with ImageCache.open(home.image_cache) as cache:
            rated = rated_values(
                base,
                vectors,
                ratings,
                layout=layout,
                cache=cache,
                model_id=release.manifest.model_id,
                load_images=lambda chosen: load_rated_images(chosen, transform, min_side=side),
                progress=within(progress, VALUES_FROM, MODEL_FROM),
            )
        y = np.array([targets[r.image_sha256] for r in rated.ratings], np.float64)
        streamed = StreamedImages(rated.ratings, transform, min_side=side)
        personal = fit_personal_model(
            rated.values,
            y,
            CoefficientPlan.for_tensors(layout, names),
            prior,
            config,
            merge=merger(ComposedModel(base, vectors, layout)),
            images=streamed,
            progress=within(progress, MODEL_FROM, SAVE_FROM),
        )
        solution, correction = personal.solution, personal.correction
        coefficients = solution.coefficients
        used = rated.ratings
        skipped = (*rated.skipped, *(s for s in streamed.skipped if s not in rated.skipped))
        summary = {
            "seconds": round(rated.seconds + personal.seconds + personal.correction_seconds, 3),
            # None: the starting point was kept (the paper's or the prior's): fewer than
            # config.step_from_ratings ratings without a prior weight, or cross-validation
            # preferred it
            "alpha": solution.alpha if math.isfinite(solution.alpha) else None,
            "cv_srocc": round(solution.cv_srocc, 4),
            "images_run": rated.images_run,
            "zero_shot_srocc": [round(v, 4) for v in solution.zero_shot_srocc],
        }
        if personal.merged is not None:
            summary["correction_seconds"] = round(personal.correction_seconds, 3)
            # None: no correction (it did not rank the ratings with the merged score)
            summary["correction_alpha"] = None if correction is None else correction.alpha
    else:
        report(within(progress, VALUES_FROM, SAVE_FROM), REFERENCE_STAGE, 0, 1)
        images = load_rated_images(ratings, transform, min_side=side)
        check_ratings(list(images.ratings), layout, what="readable rated images")
        y_ref = torch.tensor([targets[r.image_sha256] for r in images.ratings])
        reference = fit_reference(
            base, vectors, images.images, y_ref, layout=layout, steps=steps, prior=prior
        )
        report(within(progress, VALUES_FROM, SAVE_FROM), REFERENCE_STAGE, 1, 1)
        coefficients, used, skipped = reference.coefficients, images.ratings, images.skipped
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
        correction=None if correction is None else tuple(correction.weights.tolist()),
        correction_bias=0.0 if correction is None else correction.bias,
        fit_config=config.to_dict() if mode is FitMode.FAST else {},
    )
    report(within(progress, SAVE_FROM, 1.0), SAVE_STAGE, 0, 1)
    save_profile(home.profiles, profile)
    report(within(progress, SAVE_FROM, 1.0), SAVE_STAGE, 1, 1)
    return FitOutcome(profile, skipped)


class StreamedImages:
    """The rated images read again from the person's files, `IMAGES_PER_PASS` at a time, for
    the correction (see personal_fit.SupportImages); unreadable ones are noted in `skipped`."""

    def __init__(
        self,
        ratings: Sequence[Rating],
        transform: Callable[[Image.Image], torch.Tensor],
        *,
        min_side: int | None = None,
    ) -> None:
        self.ratings = ratings
        self.transform = transform
        self.min_side = min_side
        self.skipped: list[str] = []

    def scores_and_features(
        self, model: ScoreModel, progress: ProgressCallback | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        device = next(model.parameters()).device
        position = {r.image_sha256: i for i, r in enumerate(self.ratings)}
        scores: list[np.ndarray] = []
        features: list[np.ndarray] = []
        read: list[int] = []
        report(progress, CORRECTION_STAGE, 0, len(self.ratings))
        for start in range(0, len(self.ratings), IMAGES_PER_PASS):
            chunk = self.ratings[start : start + IMAGES_PER_PASS]
            rated = load_rated_images(chunk, self.transform, min_side=self.min_side)
            self.skipped += rated.skipped
            if rated.ratings:
                batch_scores, batch_features = scores_and_features(model, rated.images.to(device))
                scores.append(batch_scores)
                features.append(batch_features)
                read += [position[r.image_sha256] for r in rated.ratings]
            done = min(start + IMAGES_PER_PASS, len(self.ratings))
            report(progress, CORRECTION_STAGE, done, len(self.ratings))
        if not read:
            return np.zeros(0), np.zeros((0, 0)), np.zeros(0, np.intp)
        return np.concatenate(scores), np.concatenate(features), np.array(read, np.intp)
