"""The constants of the device's fit, in one frozen object that every caller passes on and
that the profile records (`tastevec-client fit`, the Flower ClientApp, every benchmark).

Imports no model code, so that `status` can read a profile's config without torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from tastevec.common.errors import FitError


@dataclass(frozen=True, slots=True)
class FitConfig:
    # Coefficients stay within this distance of the centre (the trust region of the
    # linearised model; fast_fit.py).
    trust_radius: float = 0.3
    # The centre starts from the paper's initialisation, softmax(10 x each task vector's
    # zero-shot SROCC on the person's n ratings). SROCCs of few ratings are noisy, so the 10
    # is tempered to 10 x n / (n + start_ratings) (zero_shot.start_temperature): 0 keeps the
    # paper's, inf is the plain average of the task vectors. Chosen on the standard world's
    # development people at 128 px (`tastevec-sim bench few-ratings --way start`, then
    # `--way joint`; simulations/results/few-ratings-start-bench.md, -joint-bench.md): start
    # 10 gained +0.016 [+0.006, +0.025] over the paper's at 5 ratings and was level at 10 and
    # 20; stepping from it at step_weight 30 gained +0.012 / +0.011 / +0.011 at 5 / 10 / 20
    # ratings, every interval above zero.
    start_ratings: float = 10.0
    # With a population prior the centre blends the paper's initialisation from the person's
    # n ratings with the prior's mean: n / (n + prior_ratings) of the first. Chosen on
    # training people only (leave-one-out prior means, block layout; "How much the prior
    # counts" in simulations/results/personalize-training-people.md): at 5 ratings 10 beat
    # the mean alone and no prior (+0.019), at 10 and 20 it stayed within 0.005 of no prior,
    # where the mean alone lost 0.03-0.05.
    prior_ratings: float = 10.0
    # Below this many ratings cross-validation does not choose the step. Chosen on the photo
    # world's training people ("When to step" in personalize-training-people.md): stepping where
    # cross-validation preferred it lost SROCC at 5 and 10 ratings (-0.02), broke even at 20
    # and gained at 50 and 100 (+0.004, +0.024).
    step_from_ratings: int = 50
    # Below `step_from_ratings`, with a population prior: how strongly the prior holds the
    # coefficients at the centre. The fit solves the rank loss at alpha = prior_weight *
    # (the prior's mean precision) / ratings, so the pull weakens as ratings accumulate and
    # is strongest where the population agrees (its per-coefficient precision).
    # inf: the centre itself is the fit. Chosen on development test people with the
    # population world's federated prior (`tastevec-sim report`, "How strongly the prior
    # holds"): 3 was best over 5 and 10 ratings, the centre and stronger pulls lost a little
    # at 5 and 10, 0.3 lost 0.03-0.07; every difference but 0.3's was within +-0.02.
    prior_weight: float = 3.0
    # Below `step_from_ratings`, without a prior: the fit solves at alpha = step_weight /
    # ratings, every coefficient pulled alike toward the paper's initialisation; inf keeps
    # the initialisation. Chosen on development people (`tastevec-sim bench few-ratings`,
    # population world, 64 px; simulations/results/few-ratings-population-bench.md): 30
    # gained +0.005 at 10 and +0.009 at 20 ratings (intervals above zero), 100 less, and
    # weights of 3 and below lost up to 0.056. On the standard world's development people at
    # 128 px (few-ratings-bench.md) 30 from the paper's start lost 0.005 at 5 ratings, so the
    # start is tempered (start_ratings); from that start 30 is the best weight
    # (few-ratings-joint-bench.md).
    step_weight: float = 30.0
    # From this many ratings on the fit adds the ridge correction on the merged model's
    # features (feature_correction.py).
    correct_from_ratings: int = 50
    # The correction's score column weight after standardising. On training people weights 10
    # to 100 are within 0.004 SROCC of each other at 50 and 100 ratings; 1 and 3 lose
    # 0.016-0.020 at 50 ("How much the score counts in the correction",
    # personalize-training-people.md).
    score_weight: float = 10.0

    def __post_init__(self) -> None:
        for name in (
            "trust_radius",
            "start_ratings",
            "prior_ratings",
            "prior_weight",
            "step_weight",
            "score_weight",
        ):
            value = getattr(self, name)
            if math.isnan(value) or value < 0:
                raise FitError(f"fit config: {name} must be >= 0, not {value}")
        for name in ("step_from_ratings", "correct_from_ratings"):
            if getattr(self, name) < 0:
                raise FitError(f"fit config: {name} must be >= 0, not {getattr(self, name)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values: an infinite setting is written as the string "inf"."""
        return {
            name: "inf" if isinstance(value, float) and math.isinf(value) else value
            for name, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> FitConfig:
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(document) - set(known))
        if unknown:
            raise FitError(f"fit config: unknown settings {unknown}")
        defaults = cls()
        values = {
            name: type(getattr(defaults, name))(document[name])
            for name in known
            if name in document
        }
        return cls(**values)


DEFAULT_FIT_CONFIG = FitConfig()
