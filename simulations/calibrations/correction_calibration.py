"""How much should the merged model's own score count in the feature correction? Measured on
training people only.

The correction (`client/feature_correction.py`) regresses the person's ratings on the merged
model's standardised score, scaled by a weight, and its standardised features; the larger the
weight, the less the ridge penalty touches the score. For each training person, number of
ratings from `FitConfig.correct_from_ratings` on and support draw, this fits the block layout's fast
fit, then scores the person's other images with the real merged model: without a
correction, and with one at each weight. `FitConfig.score_weight` was chosen from this
table; the test people never inform it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tastevec.client.fast_fit import fit_values
from tastevec.client.feature_correction import fit_correction, scores_and_features
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.composition import ComposedModel
from tastevec.common.metrics import srocc
from tastevec.simulations.people.personalize_people import (
    ImageTable,
    Person,
    bench_fit_config,
    merged_with,
    safe_metric,
    support_draws,
)

WEIGHTS = (1.0, 3.0, 10.0, 30.0, 100.0)


@dataclass(frozen=True, slots=True)
class CorrectionRow:
    shots: int
    fits: int  # person-draws scored
    plain: float  # mean SROCC of the merged model without a correction
    srocc: dict[float, float]  # score weight -> mean SROCC with the correction


def calibrate_score_weight(
    people: Sequence[Person],
    table: ImageTable,
    plan: CoefficientPlan,
    composed: ComposedModel,
    shots: Sequence[int],
    draws: int,
    seed: int,
) -> list[CorrectionRow]:
    rng = np.random.default_rng(seed)
    plain: dict[int, list[float]] = {}
    found: dict[int, dict[float, list[float]]] = {}
    config = bench_fit_config()
    corrected = [count for count in shots if count >= config.correct_from_ratings]
    for draw in support_draws(people, table, corrected, draws, rng):
        y, truth = draw.targets, draw.truth
        solution = fit_values([table.values[i] for i in draw.support], y, plan, config=config)
        merged = merged_with(composed, solution.coefficients)
        pixels = [table.pixels_of(part) for part in (draw.support, draw.held)]
        scores, features = scores_and_features(merged, pixels[0])
        held_scores, held_features = scores_and_features(merged, pixels[1])
        plain.setdefault(draw.count, []).append(safe_metric(srocc, held_scores, truth))
        for weight in WEIGHTS:
            correction = fit_correction(
                scores, features, y, from_ratings=config.correct_from_ratings, score_weight=weight
            )
            pred = (
                held_scores if correction is None else correction.apply(held_scores, held_features)
            )
            found.setdefault(draw.count, {}).setdefault(weight, []).append(
                safe_metric(srocc, pred, truth)
            )
    return [
        CorrectionRow(
            count,
            len(plain[count]),
            statistics.mean(plain[count]),
            {w: statistics.mean(v) for w, v in scores.items()},
        )
        for count, scores in found.items()
    ]


def correction_lines(rows: Sequence[CorrectionRow], people: int) -> list[str]:
    lines = [
        "",
        "## How much the score counts in the correction (training people)",
        "",
        f"{people} training people of the personal databases (none of them a test person), "
        "block-layout fast fits, scored on each person's other images with the real merged "
        "model: without the feature correction, and with it at each weight of the merged "
        f"model's score. The fit uses `score_weight` = {bench_fit_config().score_weight:g}.",
        "",
        "| ratings | fits | no correction | " + " | ".join(f"weight {w:g}" for w in WEIGHTS) + " |",
        "|---|---|---|" + "---|" * len(WEIGHTS),
    ]
    for row in rows:
        cells = " | ".join(f"{row.srocc[w]:.3f}" for w in WEIGHTS)
        lines.append(f"| {row.shots} | {row.fits} | {row.plain:.3f} | {cells} |")
    return lines
