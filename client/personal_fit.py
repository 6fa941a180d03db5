"""The device's fit, once: a person's model from their rated images' values, their ratings, a
coefficient plan and an optional population prior, under a `FitConfig`.

1. The coefficients: the fast fit on the cached linearised model (fast_fit.fit_values).
2. From `config.correct_from_ratings` ratings on, the merged model reads the rated images
   once more and a ridge correction on its features is fitted (feature_correction.py).

`tastevec-client fit`, the Flower ClientApp and every benchmark call `fit_personal_model`;
what differs between them is only where the rated images come from (streamed from the
person's files, or a tensor already in memory) and how a merged model is built. An optional
`progress` callback hears each stage (fit_progress.py): the coefficients, then the
correction's pass over the rated images, batch by batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from tastevec.client.fast_fit import FastSolution, fit_values
from tastevec.client.feature_correction import (
    FeatureCorrection,
    fit_correction,
    scores_and_features,
)
from tastevec.client.fit_config import DEFAULT_FIT_CONFIG, FitConfig
from tastevec.client.fit_progress import ProgressCallback, monotone, report, within
from tastevec.client.image_cache import ImageValues
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.composition import ComposedModel
from tastevec.common.score_model import ScoreModel

COEFFICIENTS_STAGE = "fitting your coefficients"
CORRECTION_STAGE = "reading your rated images for the correction"
COEFFICIENTS_SHARE = 0.4  # of the pipeline's progress, when a correction follows


class SupportImages(Protocol):
    """The rated images, read again for the correction."""

    def scores_and_features(
        self, model: ScoreModel, progress: ProgressCallback | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`model`'s scores [m] and pooled features [m, F] on the images it could read, and
        their positions [m] among the ratings; `progress` hears of each batch read."""
        ...


@dataclass(frozen=True, slots=True)
class PixelImages:
    """Rated images already decoded and preprocessed: [n, 3, H, W]."""

    pixels: torch.Tensor

    def scores_and_features(
        self, model: ScoreModel, progress: ProgressCallback | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        device = next(model.parameters()).device
        report(progress, CORRECTION_STAGE, 0, len(self.pixels))
        scores, features = scores_and_features(model, self.pixels.to(device))
        report(progress, CORRECTION_STAGE, len(self.pixels), len(self.pixels))
        return scores, features, np.arange(len(scores))


@dataclass(frozen=True, slots=True)
class PersonalModel:
    solution: FastSolution
    correction: FeatureCorrection | None
    merged: ScoreModel | None  # built when the correction was tried, else None
    read: np.ndarray  # the ratings' positions the correction could read (all, without one)
    seconds: float  # the coefficients' fit
    correction_seconds: float  # the support's pass and the correction's fit (0: none)
    config: FitConfig

    def scores(self, merged: ScoreModel, pixels: torch.Tensor) -> np.ndarray:
        """The personal scores of `pixels` with `merged` (this model's coefficients), with the
        correction when there is one: what the device's scoring gives."""
        held, features = scores_and_features(merged, pixels)
        return held if self.correction is None else self.correction.apply(held, features)


def fit_personal_model(
    values: Sequence[ImageValues],
    ratings: np.ndarray,
    plan: CoefficientPlan,
    prior: CoefficientPrior | None = None,
    config: FitConfig = DEFAULT_FIT_CONFIG,
    *,
    merge: Callable[[torch.Tensor], ScoreModel],
    images: SupportImages,
    progress: ProgressCallback | None = None,
) -> PersonalModel:
    """The personal model fitted to `ratings` [n] (0-1, higher better) of the images whose
    fast-fit `values` are given, in `plan`'s layout. `merge(coefficients)` builds the plain
    merged model; `images` gives the rated images again for the correction. `progress`
    hears each stage, its fraction rising to 1.0 when the model is fitted."""
    progress = None if progress is None else monotone(progress)
    correcting = len(ratings) >= config.correct_from_ratings
    share = COEFFICIENTS_SHARE if correcting else 1.0
    report(within(progress, 0.0, share), COEFFICIENTS_STAGE, 0, 1)
    started = time.perf_counter()
    solution = fit_values(values, ratings, plan, prior=prior, config=config)
    seconds = time.perf_counter() - started
    report(within(progress, 0.0, share), COEFFICIENTS_STAGE, 1, 1)
    if not correcting:  # no pass over the images below
        return PersonalModel(solution, None, None, np.arange(len(ratings)), seconds, 0.0, config)
    started = time.perf_counter()
    merged = merge(solution.coefficients)
    correction, read = correction_for(merged, images, ratings, config, within(progress, share, 1.0))
    return PersonalModel(
        solution, correction, merged, read, seconds, time.perf_counter() - started, config
    )


def correction_for(
    merged: ScoreModel,
    images: SupportImages,
    ratings: np.ndarray,
    config: FitConfig = DEFAULT_FIT_CONFIG,
    progress: ProgressCallback | None = None,
) -> tuple[FeatureCorrection | None, np.ndarray]:
    """The feature correction of `merged` fitted to the rated `images` (None where none
    could be read, or where the ratings do not rank with the merged score: the device then
    scores with the merged model alone), and the ratings' positions it could read."""
    scores, features, read = images.scores_and_features(merged, progress)
    if not len(read):
        return None, read
    correction = fit_correction(
        scores,
        features,
        np.asarray(ratings, np.float64)[read],
        from_ratings=config.correct_from_ratings,
        score_weight=config.score_weight,
    )
    return correction, read


def merger(composed: ComposedModel) -> Callable[[torch.Tensor], ScoreModel]:
    """`merge` for `fit_personal_model` from a composed model of the plan's layout."""

    def merge(coefficients: torch.Tensor) -> ScoreModel:
        composed.set_coefficients(coefficients)
        merged = composed.merge()
        if not isinstance(merged, ScoreModel):
            raise TypeError(f"merging gave a {type(merged).__name__}, not a ScoreModel")
        return merged

    return merge
