"""Does the coefficient fit fit? Ways to solve it measured on development test people only
(`tastevec-sim bench coefficient-fit`).

The fast fit linearises the personal model at the plain average of the task vectors
(lambda0 = 1/K, one set of cached values per image), centres its pull at the paper's
initialisation (softmax(10 x zero-shot SROCC)) and keeps every coefficient within the trust
radius of that centre. The first-order model is therefore trusted around a point it was not
expanded at. This fits the same supports several ways and scores each fit's coefficients
alone (no feature correction) with the real merged model on the person's other images:
- the default (expanded at 1/K, radius `FitConfig.trust_radius`);
- a wider trust region;
- expanded at the centre (the rated images' values re-taken there, one more pass);
- re-linearised: after the first solve, the values re-taken at its coefficients and the fit
  solved again (once, or twice with the wider region).
Gains are per person against the default, with bootstrap intervals over people.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tastevec.client.fast_fit import FastSolution, fit_values, own_start
from tastevec.client.fit_config import FitConfig
from tastevec.client.image_cache import ImageValues
from tastevec.client.linearisation import linearise
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.metrics import srocc
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.score_model import ScoreModel
from tastevec.common.signing import load_public_key
from tastevec.common.task_vector import TaskVector
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    bench_fit_config,
    build_table,
    load_people,
    real_scores,
    safe_metric,
)
from tastevec.simulations.people.prior_evaluation import PersonScores, supports
from tastevec.simulations.tools.machine import describe_machine, machine_table

SHOTS = (50, 100)
LAYOUT = CoefficientLayout.BLOCK
WIDE_RADIUS = 1.0


@dataclass(frozen=True, slots=True)
class Way:
    """One way to solve: where the values are first taken, the trust radius, and how many
    times the fit is re-linearised at its own solution."""

    name: str
    at_centre: bool = False
    radius: float | None = None  # None: the config's
    rounds: int = 0


WAYS = (
    Way("default (at 1/K)"),
    Way(f"radius {WIDE_RADIUS:g}", radius=WIDE_RADIUS),
    Way("expanded at the centre", at_centre=True),
    Way("re-linearised once", rounds=1),
    Way(f"re-linearised twice, radius {WIDE_RADIUS:g}", radius=WIDE_RADIUS, rounds=2),
)


class PointValuer:
    """The rated images' score and Jacobian re-taken at a point of the plan's coefficients
    (each tensor at its group's), their own scores kept: what a re-linearisation needs."""

    def __init__(self, base: ScoreModel, vectors: Sequence[TaskVector], plan: CoefficientPlan):
        self.composed = ComposedModel(base, vectors, CoefficientLayout.TENSOR).eval()
        self.groups = list(plan.tensor_groups)
        self.passes = 0

    def __call__(
        self, point: torch.Tensor, rows: Sequence[ImageValues], pixels: torch.Tensor
    ) -> list[ImageValues]:
        self.composed.set_coefficients(point[self.groups])
        scores, jacobians = linearise(self.composed, pixels)
        self.passes += len(pixels)
        return [
            ImageValues(float(s), row.single_scores, j)
            for s, row, j in zip(scores, rows, jacobians, strict=True)
        ]


def solve_way(
    way: Way,
    rows: Sequence[ImageValues],
    targets: np.ndarray,
    plan: CoefficientPlan,
    pixels: torch.Tensor,
    valuer: PointValuer,
    config: FitConfig,
    centre: np.ndarray,
) -> FastSolution:
    """`way`'s fit of `rows`; `centre` [groups * K]: the device's centre from these ratings,
    the expansion point of a way expanded at the centre."""
    if way.radius is not None:
        config = dataclasses.replace(config, trust_radius=way.radius)
    k = rows[0].single_scores.shape[0]
    expansion: np.ndarray | None = None
    if way.at_centre:
        expansion = centre
        point = torch.tensor(expansion.reshape(plan.num_groups, k), dtype=torch.float32)
        rows = valuer(point, rows, pixels)
    solution = fit_values(rows, targets, plan, config=config, expansion=expansion)
    for _ in range(way.rounds):
        if np.isinf(solution.alpha):  # the centre was kept: nothing moved to re-expand at
            break
        point = solution.coefficients
        rows = valuer(point, rows, pixels)
        expansion = point.reshape(-1).double().numpy()
        solution = fit_values(rows, targets, plan, config=config, expansion=expansion)
    return solution


def run_coefficient_fit(
    world: Path,
    release: Path,
    trust: Path,
    draws: int = 1,
    people_limit: int | None = None,
    shots: Sequence[int] = SHOTS,
    seed: int = 0,
) -> str:
    started = time.perf_counter()
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest).eval()
    vectors = load_release_task_vectors(release, manifest)
    people = split_people(load_people(world, TEST_GROUPS, None), "development")[:people_limit]
    table = build_table(people, base, vectors, None, None)
    plan = CoefficientPlan.for_tensors(LAYOUT, composed_tensor_names(base.state_dict(), vectors))
    composed = ComposedModel(base, vectors, LAYOUT).eval()
    valuer = PointValuer(base, vectors, plan)
    config = bench_fit_config()
    chosen = supports(people, table, shots, draws, seed)
    names = tuple(f"{p.group}/{p.name}" for p in people)
    per_person: dict[tuple[str, int], list[float]] = {}
    moved: dict[tuple[str, int], list[float]] = {}
    seconds: dict[str, float] = {way.name: 0.0 for way in WAYS}
    for person, name in zip(people, names, strict=True):
        rows = table.rows(person)
        for count in shots:
            draws_srocc: dict[str, list[float]] = {way.name: [] for way in WAYS}
            for draw in range(draws):
                order = chosen.get((name, count, draw))
                if order is None:
                    continue
                support, held = rows[order[:count]], rows[order[count:]]
                values = [table.values[i] for i in support]
                targets = person.targets[order[:count]]
                pixels, held_pixels = table.pixels_of(support), table.pixels_of(held)
                truth = person.targets[order[count:]]
                own = np.stack([v.single_scores for v in values])
                centre = own_start(own, targets, plan.num_groups, config.start_ratings)
                for way in WAYS:
                    tick = time.perf_counter()
                    solution = solve_way(way, values, targets, plan, pixels, valuer, config, centre)
                    seconds[way.name] += time.perf_counter() - tick
                    scored = real_scores(composed, solution.coefficients, held_pixels)
                    draws_srocc[way.name].append(safe_metric(srocc, scored, truth))
                    shift = solution.coefficients.reshape(-1).double().numpy() - centre
                    moved.setdefault((way.name, count), []).append(float(np.abs(shift).max()))
            for way in WAYS:
                if draws_srocc[way.name]:
                    per_person.setdefault((way.name, count), []).append(
                        statistics.mean(draws_srocc[way.name])
                    )
        print(f"done {name}", flush=True)
    scores = PersonScores(
        names,
        {key: tuple(v) for key, v in per_person.items() if len(v) == len(people)},
    )
    header = _header(world, manifest.release_id, base, len(people), draws, config)
    fits = len(people) * len(scores.measured(WAYS[0].name, shots)) * draws
    lines = [*header, *_tables(scores, shots, moved, seconds, fits)]
    return "\n".join([*lines, f"Whole run: {time.perf_counter() - started:.0f} s.", ""])


def _header(
    world: Path, release_id: str, base: ScoreModel, people: int, draws: int, config: FitConfig
) -> list[str]:
    return [
        "# Does the coefficient fit fit? Ways to solve it",
        "",
        "**The ratings are simulated** (the photo world), not human.",
        "",
        f"World `{world.name}`, release `{release_id}` ({base.preprocessing.input_size} px), "
        f"layout `{LAYOUT.value}`, no prior. {people} of the world's **development** test "
        f"people (a calibration: the final people are for the reports), {draws} random "
        "support per person and shots, the same for every way; each fit's **coefficients "
        "alone** (no feature correction) scored with the real merged model on the person's "
        f"other images. Default trust radius {config.trust_radius:g}.",
        "",
        *machine_table(describe_machine()),
        "",
    ]


def _tables(
    scores: PersonScores,
    shots: Sequence[int],
    moved: dict[tuple[str, int], list[float]],
    seconds: dict[str, float],
    fits: int,
) -> list[str]:
    baseline = WAYS[0].name
    shots = scores.measured(baseline, shots)
    lines = [
        "Mean SROCC, and in brackets the gain over the default per person with its 95 % "
        "interval over people:",
        "",
        "| way | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---|" + "---|" * len(shots),
        *scores.gain_rows(baseline, [w.name for w in WAYS[1:]], shots),
        "",
        "How far each way moved from the centre (the largest coefficient shift, mean over "
        "fits) and its time (seconds per fit, the re-taken values included):",
        "",
        "| way | " + " | ".join(f"shift at {s}" for s in shots) + " | seconds per fit |",
        "|---|" + "---|" * len(shots) + "---|",
    ]
    for way in WAYS:
        cells = [f"{statistics.mean(moved[way.name, s]):.3f}" for s in shots]
        lines.append(
            f"| {way.name} | " + " | ".join(cells) + f" | {seconds[way.name] / fits:.2f} |"
        )
    return [*lines, ""]
