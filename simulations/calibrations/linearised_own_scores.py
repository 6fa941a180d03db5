"""Could the fit skip the task vectors' own forward passes? Measured on development test
people only (`tastevec-sim bench linearised-own`).

Six of the roughly nine forward-pass equivalents a new rated photo costs the fast fit are its
score under each task vector's own model (coefficient 1 on it, 0 on the others), which only
the paper's initialisation uses: softmax(10 x each own model's SROCC on the support). The
linearisation already holds those models to first order, from the values it computes anyway:
    own_k(x) ~= s(x; 1/K) + sum_t J[x, t, k] - (1/K) sum_t sum_j J[x, t, j].
This compares the device's default fit (fast, block layout, no prior) from the exact own
scores against the same fit from the linearised ones, on the same people, images and
supports, with the per-person gain's 95 % interval over people; and says how well the
linearised own scores rank each image set like the exact ones.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from tastevec.client.image_cache import ImageValues
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.metrics import srocc
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    ImageTable,
    build_table,
    load_people,
)
from tastevec.simulations.people.prior_evaluation import evaluate, merged
from tastevec.simulations.tools.machine import describe_machine, machine_table

SHOTS = (5, 10, 20, 50, 100)
EXACT, LINEARISED = "exact own scores", "linearised own scores"
LAYOUT = CoefficientLayout.BLOCK


def linearised_own(values: ImageValues) -> ImageValues:
    """`values` with each own score replaced by the linearisation's: [K] from s and J."""
    jacobian = values.jacobian.astype(np.float64)  # [tensors, K]
    k = jacobian.shape[1]
    own = values.score + jacobian.sum(0) - jacobian.sum() / k
    return dataclasses.replace(values, single_scores=own.astype(np.float32))


def run_linearised_own(
    world: Path, release: Path, trust: Path, draws: int = 3, seed: int = 0
) -> str:
    started = time.perf_counter()
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest).eval()
    vectors = load_release_task_vectors(release, manifest)
    people = split_people(load_people(world, TEST_GROUPS, None), "development")
    exact = build_table(people, base, vectors, None, None)
    approximate = dataclasses.replace(exact, values=[linearised_own(v) for v in exact.values])
    plan = CoefficientPlan.for_tensors(LAYOUT, composed_tensor_names(base.state_dict(), vectors))
    composed = ComposedModel(base, vectors, LAYOUT).eval()
    scores = merged(
        [
            evaluate(people, table, composed, plan, {label: None}, SHOTS, draws, seed)
            for label, table in ((EXACT, exact), (LINEARISED, approximate))
        ]
    )
    shots = scores.measured(EXACT, SHOTS)
    lines = [
        "# The task vectors' own scores from the linearisation",
        "",
        "**The ratings are simulated** (the photo world), not human.",
        "",
        f"World `{world.name}`, release `{manifest.release_id}` "
        f"({base.preprocessing.input_size} px, {len(vectors)} task vectors). The world's "
        f"{len(people)} **development** test people only (a calibration: the final people are "
        f"for the reports), {draws} random supports per person and shots, the same for both; "
        "the device's default fit (fast, block layout, no prior), scored with the real merged "
        "model on the person's other images.",
        "",
        *machine_table(describe_machine()),
        "",
        "## How closely the linearised own scores rank the images",
        "",
        f"SROCC between each own model's exact and linearised scores over the "
        f"{len(exact.values):,} images the people rated:",
        "",
        "| task vector | SROCC exact vs linearised |",
        "|---|---|",
        *agreement_rows(exact, approximate, [v.source for v in vectors]),
        "",
        "## Personalization",
        "",
        "Mean SROCC, and in brackets the linearised fit's gain per person with its 95 % "
        "interval over people:",
        "",
        "| own scores | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---|" + "---|" * len(shots),
        *scores.gain_rows(EXACT, [LINEARISED], shots),
        "",
        f"Whole run: {time.perf_counter() - started:.0f} s.",
        "",
    ]
    return "\n".join(lines)


def agreement_rows(exact: ImageTable, approximate: ImageTable, sources: list[str]) -> list[str]:
    ours = np.stack([v.single_scores for v in exact.values])
    theirs = np.stack([v.single_scores for v in approximate.values])
    return [
        f"| {source} | {srocc(ours[:, i], theirs[:, i]):.3f} |" for i, source in enumerate(sources)
    ]
