"""How much should a population prior's mean count against a person's own start? Measured on
training people only.

With a prior, the fast fit's centre blends the paper's initialisation from the person's n
ratings with the prior's mean, which counts as `FitConfig.prior_ratings` ratings; below
`FitConfig.step_from_ratings` that centre is the fit. For each training person, number of
ratings and support draw, this scores the centre for several worths of the prior on the
person's other images with the real merged model. Each person's prior is the mean of the
*other* training people's fits, so nobody is scored against a prior they are part of.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tastevec.client.fast_fit import own_start, prior_blend
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.composition import ComposedModel
from tastevec.common.metrics import srocc
from tastevec.simulations.people.personalize_people import (
    ImageTable,
    Person,
    bench_fit_config,
    real_scores,
    safe_metric,
    support_draws,
)

WORTHS = (0.0, 5.0, 10.0, 20.0, 50.0, math.inf)


@dataclass(frozen=True, slots=True)
class PriorRow:
    shots: int
    fits: int  # person-draws scored
    srocc: dict[float, float]  # the prior's worth in ratings -> mean SROCC


def calibrate_prior_worth(
    people: Sequence[Person],
    table: ImageTable,
    fits: torch.Tensor,
    plan: CoefficientPlan,
    composed: ComposedModel,
    shots: Sequence[int],
    draws: int,
    seed: int,
) -> list[PriorRow]:
    """`fits[i]`: person i's coefficients [groups, K], the ones the prior is made of."""
    rng = np.random.default_rng(seed)
    found: dict[int, dict[float, list[float]]] = {}
    config = bench_fit_config()
    step_from = config.step_from_ratings
    unstepped = [count for count in shots if count < step_from]
    for draw in support_draws(people, table, unstepped, draws, rng):
        others = torch.cat([fits[: draw.index], fits[draw.index + 1 :]])
        prior_mean = others.mean(0).reshape(-1).double().numpy()
        own = np.stack([table.values[i].single_scores for i in draw.support])
        start = own_start(own, draw.targets, plan.num_groups, config.start_ratings)
        pixels = table.pixels_of(draw.held)
        for worth in WORTHS:
            centre = prior_blend(start, prior_mean, draw.count, worth)
            coefficients = torch.tensor(centre.reshape(plan.num_groups, -1))
            pred = real_scores(composed, coefficients, pixels)
            found.setdefault(draw.count, {}).setdefault(worth, []).append(
                safe_metric(srocc, pred, draw.truth)
            )
    return [
        PriorRow(count, len(scores[WORTHS[0]]), {w: statistics.mean(v) for w, v in scores.items()})
        for count, scores in found.items()
    ]


def prior_lines(rows: Sequence[PriorRow], people: int) -> list[str]:
    names = [
        "no prior" if w == 0 else "prior only" if math.isinf(w) else f"worth {w:g}" for w in WORTHS
    ]
    lines = [
        "",
        "## How much the prior counts (training people)",
        "",
        f"{people} training people of the personal databases (none of them a test person), "
        "block layout, too few ratings to step: the fit is its centre, n / (n + worth) of the "
        "paper's initialisation from the person's n ratings plus the rest of the prior's mean, "
        "the prior made of the other training people's fits. Scored on each person's other "
        "images with the real merged model. The fit uses `prior_ratings` = "
        f"{bench_fit_config().prior_ratings:g}.",
        "",
        "| ratings | fits | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(WORTHS),
    ]
    for row in rows:
        cells = " | ".join(f"{row.srocc[w]:.3f}" for w in WORTHS)
        lines.append(f"| {row.shots} | {row.fits} | {cells} |")
    return lines
