"""Can 5, 10 or 20 ratings move the model toward a person without a prior? Measured on
development test people only (`tastevec-sim bench few-ratings`), in one of three ways.

Below `FitConfig.step_from_ratings` there are too few ratings to cross-validate a penalty,
and letting cross-validation step anyway lost SROCC at 5 and 10 ratings (the personalization
benchmark's "When to step" table).
- `step`: a fixed pull toward the paper's initialisation that weakens with each rating,
  alpha = weight / ratings (`FitConfig.step_weight`), against keeping the initialisation
  (weight inf).
- `start`: the initialisation itself, softmax(10 x zero-shot SROCC), with its temperature
  tempered for SROCCs of few ratings, 10 x n / (n + s) (`FitConfig.start_ratings` = s),
  against the paper's (s = 0); no step, so each fit is its start.
- `joint`: the steps again, from the tempered start (`JOINT_START`), against the paper's
  initialisation unmoved.
Every condition is fitted on the same supports; gains are per person, with bootstrap
intervals over people.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

from tastevec.client.fit_config import FitConfig
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
STARTS = (0.0, 5.0, 10.0, 20.0, 50.0, math.inf)
# `joint`: the steps again, from the tempered start that the `start` way chose on the
# standard world's development people (start 10: +0.016 at 5 shots, +0.004 at 10, level at 20;
# few-ratings-start-bench.md)
JOINT_START = 10.0
JOINT_WEIGHTS = (math.inf, 100.0, 30.0, 10.0)
SHOTS = (5, 10, 20)
TARGET_AT = (10, 20)  # the target: a gain over the initialisation, interval above 0
LAYOUT = CoefficientLayout.BLOCK
WAYS = ("step", "start", "joint")


def label(weight: float) -> str:
    return "initialisation (inf)" if math.isinf(weight) else f"weight {weight:g}"


def start_label(start_ratings: float) -> str:
    if start_ratings == 0:
        return "paper's initialisation (0)"
    return "plain average (inf)" if math.isinf(start_ratings) else f"start {start_ratings:g}"


def conditions(way: str) -> dict[str, FitConfig]:
    """Each condition's fit config, the baseline (the paper's initialisation) first."""
    config = bench_fit_config()
    if way == "step":
        return {
            label(w): dataclasses.replace(config, step_weight=w, start_ratings=0.0) for w in WEIGHTS
        }
    if way == "start":
        return {
            start_label(s): dataclasses.replace(config, step_weight=math.inf, start_ratings=s)
            for s in STARTS
        }
    if way == "joint":
        joint = {
            f"start {JOINT_START:g}, {label(w)}": dataclasses.replace(
                config, step_weight=w, start_ratings=JOINT_START
            )
            for w in JOINT_WEIGHTS
        }
        paper = dataclasses.replace(config, step_weight=math.inf, start_ratings=0.0)
        return {start_label(0.0): paper, **joint}
    raise ValueError(f"unknown way {way!r}: one of {WAYS}")


# Each way's title and what its report says the fit does below 50 ratings.
DESCRIPTIONS = {
    "step": (
        "a fixed step against the paper's initialisation",
        "Below 50 ratings the fit solves at alpha = weight / ratings toward the paper's "
        "initialisation (softmax of 10 x each task vector's zero-shot SROCC on the support), "
        "inside the trust region; weight inf keeps the initialisation.",
    ),
    "start": (
        "a tempered start against the paper's initialisation",
        "Below 50 ratings each fit is its start, no step: softmax of t x each task "
        "vector's zero-shot SROCC on the n support ratings, t = 10 x n / (n + start); the "
        "paper's initialisation is start 0 (t = 10), the plain average of the task vectors "
        "start inf (t = 0).",
    ),
    "joint": (
        "steps from a tempered start against the paper's initialisation",
        "Below 50 ratings the fit steps at alpha = weight / ratings toward a tempered "
        "start (softmax of t x each task vector's zero-shot SROCC on the n support ratings, "
        f"t = 10 x n / (n + {JOINT_START:g})), inside the trust region; weight inf keeps that "
        "start. The baseline is the paper's initialisation (t = 10), unmoved.",
    ),
}


def run_few_ratings(
    world: Path, release: Path, trust: Path, draws: int = 3, seed: int = 0, way: str = "step"
) -> str:
    started = time.perf_counter()
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest).eval()
    vectors = load_release_task_vectors(release, manifest)
    people = split_people(load_people(world, TEST_GROUPS, None), "development")
    table = build_table(people, base, vectors, None, None)
    plan = CoefficientPlan.for_tensors(LAYOUT, composed_tensor_names(base.state_dict(), vectors))
    composed = ComposedModel(base, vectors, LAYOUT).eval()
    configs = conditions(way)
    scores = merged(
        [
            evaluate(people, table, composed, plan, {name: None}, SHOTS, draws, seed, config)
            for name, config in configs.items()
        ]
    )
    title, what = DESCRIPTIONS[way]
    header = [
        f"# Few ratings without a prior: {title}",
        "",
        "**The ratings are simulated** (the photo world), not human.",
        "",
        f"World `{world.name}`, release `{manifest.release_id}` "
        f"({base.preprocessing.input_size} px), layout `{LAYOUT.value}`. The world's "
        f"{len(people)} **development** test people only (a calibration: the final people are "
        f"for the reports), {draws} random supports per person and shots, the same for every "
        "condition; each fit scored with the real merged model on the person's other images. "
        + what,
        "",
        *machine_table(describe_machine()),
        "",
    ]
    names = list(configs)
    table_lines = gain_table(scores, names[0], names[1:])
    return "\n".join(
        header + table_lines + [f"Whole run: {time.perf_counter() - started:.0f} s.", ""]
    )


def gain_table(scores: PersonScores, base: str, rivals: list[str]) -> list[str]:
    shots = scores.measured(base, SHOTS)
    lines = [
        "Mean SROCC, and in brackets the gain over the initialisation per person with its 95 % "
        "interval over people:",
        "",
        "| fit | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---|" + "---|" * len(shots),
        *scores.gain_rows(base, rivals, shots),
    ]
    verdicts = [
        name
        for name in rivals
        if all(s in shots and scores.gain(name, base, s)[1] > 0 for s in TARGET_AT)
    ]
    lines += [
        "",
        "Target: a fit that gains over the initialisation at "
        f"{' and '.join(map(str, TARGET_AT))} shots, interval above zero: "
        + (f"met by {', '.join(verdicts)}." if verdicts else "NOT met by any condition."),
        "",
    ]
    return lines
