"""Can 5, 10 or 20 ratings move the model toward a person without a prior? Measured on
development test people only (`tastevec-sim bench few-ratings`).

Below `FitConfig.step_from_ratings` there are too few ratings to cross-validate a penalty,
and letting cross-validation step anyway lost SROCC at 5 and 10 ratings (the personalization
benchmark's "When to step" table). This measures the other way to step: at a fixed pull
toward the paper's initialisation that weakens with each rating, alpha = weight / ratings
(`FitConfig.step_weight`), against keeping the initialisation (weight inf). Every weight is
fitted on the same supports; gains are per person, with bootstrap intervals over people.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    bench_fit_config,
    build_table,
    load_people,
)
from tastevec.simulations.people.prior_evaluation import PersonScores, evaluate, merged
from tastevec.simulations.tools.machine import describe_machine, machine_table

WEIGHTS = (math.inf, 100.0, 30.0, 10.0, 3.0, 1.0, 0.3)
SHOTS = (5, 10, 20)
TARGET_AT = (10, 20)  # the target: a gain over the initialisation, interval above 0
LAYOUT = CoefficientLayout.BLOCK


def label(weight: float) -> str:
    return "initialisation (inf)" if math.isinf(weight) else f"weight {weight:g}"


def run_few_ratings(world: Path, release: Path, trust: Path, draws: int = 3, seed: int = 0) -> str:
    started = time.perf_counter()
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest).eval()
    vectors = load_release_task_vectors(release, manifest)
    people = split_people(load_people(world, TEST_GROUPS, None), "development")
    table = build_table(people, base, vectors, None, None)
    plan = CoefficientPlan.for_tensors(LAYOUT, composed_tensor_names(base.state_dict(), vectors))
    composed = ComposedModel(base, vectors, LAYOUT).eval()
    scores = merged(
        [
            evaluate(
                people,
                table,
                composed,
                plan,
                {label(weight): None},
                SHOTS,
                draws,
                seed,
                dataclasses.replace(bench_fit_config(), step_weight=weight),
            )
            for weight in WEIGHTS
        ]
    )
    header = [
        "# Few ratings without a prior: a fixed step against the paper's initialisation",
        "",
        "**The ratings are simulated** (the photo world), not human.",
        "",
        f"World `{world.name}`, release `{manifest.release_id}` "
        f"({base.preprocessing.input_size} px), layout `{LAYOUT.value}`. The world's "
        f"{len(people)} **development** test people only (a calibration: the final people are "
        f"for the reports), {draws} random supports per person and shots, the same for every "
        "weight; each fit scored with the real merged model on the person's other images. "
        "Below 50 ratings the fit solves at alpha = weight / ratings toward the paper's "
        "initialisation (softmax of 10 x each task vector's zero-shot SROCC on the support), "
        "inside the trust region; weight inf keeps the initialisation.",
        "",
        *machine_table(describe_machine()),
        "",
    ]
    return "\n".join(
        header + weight_table(scores) + [f"Whole run: {time.perf_counter() - started:.0f} s.", ""]
    )


def weight_table(scores: PersonScores) -> list[str]:
    base = label(math.inf)
    shots = scores.measured(base, SHOTS)
    lines = [
        "Mean SROCC, and in brackets the gain over the initialisation per person with its 95 % "
        "interval over people:",
        "",
        "| fit | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---|" + "---|" * len(shots),
        *scores.gain_rows(base, [label(w) for w in WEIGHTS[1:]], shots),
    ]
    verdicts = [
        label(weight)
        for weight in WEIGHTS[1:]
        if all(s in shots and scores.gain(label(weight), base, s)[1] > 0 for s in TARGET_AT)
    ]
    lines += [
        "",
        "Target: a fit that gains over the initialisation at "
        f"{' and '.join(map(str, TARGET_AT))} shots, interval above zero: "
        + (f"met by {', '.join(verdicts)}." if verdicts else "NOT met by any weight."),
        "",
    ]
    return lines
