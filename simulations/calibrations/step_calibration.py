"""When should the fast fit step away from its centre? Measured on training people only.

The fast fit's cross-validation may prefer a step from the centre (the paper's initialisation)
to the centre itself; with few ratings that preference is mostly noise. For each training
person, number of ratings and support draw, this scores both answers on the person's other
images with the real merged model: the centre, and whatever cross-validation chooses when it
is allowed to step. `FitConfig.step_from_ratings` was chosen from this table (stepping
lost below 20 ratings, broke even at 20, gained from 50); the test people never inform it.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tastevec.client.fast_fit import fit_values
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

NEVER = 10**9  # step_from for "always keep the centre"


@dataclass(frozen=True, slots=True)
class StepRow:
    shots: int
    fits: int  # person-draws scored
    centre: float  # mean SROCC keeping the centre
    chosen: float  # mean SROCC of cross-validation's choice, stepping allowed
    stepped: float  # share of fits where cross-validation chose a step


def calibrate_steps(
    people: Sequence[Person],
    table: ImageTable,
    plan: CoefficientPlan,
    composed: ComposedModel,
    shots: Sequence[int],
    draws: int,
    seed: int,
) -> list[StepRow]:
    rng = np.random.default_rng(seed)
    found: dict[int, list[tuple[float, float, bool]]] = {s: [] for s in shots}
    for draw in support_draws(people, table, shots, draws, rng):
        values = [table.values[i] for i in draw.support]
        pixels = table.pixels_of(draw.held)
        never = dataclasses.replace(bench_fit_config(), step_from_ratings=NEVER)
        always = dataclasses.replace(bench_fit_config(), step_from_ratings=0)
        centre = fit_values(values, draw.targets, plan, config=never).coefficients
        chosen = fit_values(values, draw.targets, plan, config=always).coefficients
        kept = safe_metric(srocc, real_scores(composed, centre, pixels), draw.truth)
        stepped = not torch.equal(centre, chosen)
        moved = (
            safe_metric(srocc, real_scores(composed, chosen, pixels), draw.truth)
            if stepped
            else kept
        )
        found[draw.count].append((kept, moved, stepped))
    return [
        StepRow(
            shots=count,
            fits=len(results),
            centre=statistics.mean(r[0] for r in results),
            chosen=statistics.mean(r[1] for r in results),
            stepped=statistics.mean(float(r[2]) for r in results),
        )
        for count, results in found.items()
        if results
    ]


def step_lines(rows: Sequence[StepRow], people: int, layout: str) -> list[str]:
    lines = [
        "",
        "## When to step (training people)",
        "",
        f"{people} training people of the personal databases (none of them a test person), "
        f"fast {layout} fits without a prior, scored on each person's other images with the "
        "real merged model: keeping the centre (the paper's initialisation) against the "
        "choice of cross-validation when it may step away from it. The fit steps only from "
        f"`step_from_ratings` = {bench_fit_config().step_from_ratings} ratings on.",
        "",
        "| ratings | fits | keep the centre | cross-validation's choice | gain | stepped |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.shots} | {row.fits} | {row.centre:.3f} | {row.chosen:.3f} | "
            f"{row.chosen - row.centre:+.3f} | {row.stepped:.0%} |"
        )
    return lines
