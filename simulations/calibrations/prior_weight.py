"""How strongly a population prior should hold a person's coefficients below
`FitConfig.step_from_ratings` ratings (`FitConfig.prior_weight`), chosen on development test
people with the federated prior itself, before any final person is fitted.

Below that many ratings there are too few to cross-validate a penalty, so the fit either
keeps the centre (weight inf: the paper's initialisation blended with the prior's mean) or
steps at alpha = weight * the prior's mean precision / ratings: a pull that weakens as the
person rates more and is strongest where the population agrees. Each weight is fitted on the
same supports as no prior; the weight with the best mean SROCC over the target shots (5 and
10) is the one the final evaluation uses.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.composition import ComposedModel
from tastevec.simulations.people.personalize_people import ImageTable, Person, bench_fit_config
from tastevec.simulations.people.prior_evaluation import PersonScores, evaluate, merged

WEIGHTS = (math.inf, 30.0, 10.0, 3.0, 1.0, 0.3)
SHOTS = (5, 10, 20)
CHOOSE_AT = (5, 10)  # the shots the prior's lift target is set at
NONE = "no prior"


def label(weight: float) -> str:
    return "centre (inf)" if math.isinf(weight) else f"weight {weight:g}"


def weigh(
    people: Sequence[Person],
    table: ImageTable,
    composed: ComposedModel,
    plan: CoefficientPlan,
    prior: CoefficientPrior,
    draws: int,
    seed: int,
) -> PersonScores:
    """No prior, and the prior at each of `WEIGHTS`, on the same supports."""
    parts = [evaluate(people, table, composed, plan, {NONE: None}, SHOTS, draws, seed)]
    for weight in WEIGHTS:
        config = dataclasses.replace(bench_fit_config(), prior_weight=weight)
        conditions = {label(weight): prior}
        parts.append(
            evaluate(people, table, composed, plan, conditions, SHOTS, draws, seed, config)
        )
    return merged(parts)


def chosen_weight(scores: PersonScores) -> float:
    """The weight with the best mean SROCC over `CHOOSE_AT` (ties: the stronger pull)."""
    at = scores.measured(NONE, CHOOSE_AT)

    def score(weight: float) -> float:
        return statistics.mean(scores.mean(label(weight), s) for s in at)

    return max(WEIGHTS, key=lambda w: (round(score(w), 6), w))


def weight_lines(scores: PersonScores, chosen: float, people: int) -> list[str]:
    shots = scores.measured(NONE, SHOTS)
    header = "| prior | " + " | ".join(f"{s} shots" for s in shots) + " |"
    lines = [
        "## How strongly the prior holds below 50 ratings (development people)",
        "",
        f"Chosen on the {people} **development** test people with the federated prior, before "
        "any final person was fitted (simulations/calibrations/prior_weight.py). Below "
        f"{bench_fit_config().step_from_ratings} ratings the fit keeps the centre (the "
        "paper's initialisation blended with the prior's mean; weight inf) or steps at alpha "
        "= weight x the prior's mean precision / ratings. Mean SROCC, and in brackets the "
        "gain over no prior per person with its 95 % interval:",
        "",
        header,
        "|---|" + "---|" * len(shots),
        *scores.gain_rows(NONE, [label(w) for w in WEIGHTS], shots),
    ]
    return [
        *lines,
        "",
        f"Chosen: **{label(chosen)}** (best mean over "
        f"{' and '.join(map(str, scores.measured(NONE, CHOOSE_AT)))} "
        "shots); the final people below are fitted with it.",
        "",
    ]
