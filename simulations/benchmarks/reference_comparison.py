"""The fast fit against the paper's reference fit, person by person, on the same supports.

A subset of the test people (taken in turn from each group), one support draw per number of
shots, both modes at one image size, cold: the fast fit's time includes computing every
support image's values and, from `FitConfig.correct_from_ratings` ratings on, the feature
correction.
The reference is the paper's fit (coefficients only); so that the comparison sets like
against like, the fast fit is also scored without its correction, and the reference also with
the device's correction fitted on top of it (`personal_fit.correction_for`, the same code).
Each gain is judged per person, with a bootstrap interval over people.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tastevec.client.fast_fit import image_values
from tastevec.client.feature_correction import scores_and_features
from tastevec.client.personal_fit import PixelImages, correction_for
from tastevec.client.reference_fit import fit_reference
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.metrics import srocc
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector
from tastevec.simulations.people.people_split import PeopleSet
from tastevec.simulations.people.personalize_people import (
    Person,
    bench_fit_config,
    build_table,
    merged_with,
    personal_scores,
    safe_metric,
    support_draws,
)
from tastevec.simulations.tools.paired_bootstrap import mean_interval

log = logging.getLogger(__name__)

REFERENCE = "reference, tensor"
CORRECTED_REFERENCE = "reference, tensor + correction"
FAST_LAYOUTS = (CoefficientLayout.TENSOR, CoefficientLayout.BLOCK)


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    person: str
    shots: int
    srocc: dict[str, float]
    seconds: dict[str, float]


@dataclass(frozen=True, slots=True)
class ReferenceSettings:
    people: int = 10
    shots: tuple[int, ...] = (10, 100)
    # which test people `bench reference` draws from (the personalization benchmark passes
    # its own)
    which: PeopleSet = "final"
    image_size: int | None = 64  # None: the release's own size
    steps: int = 500
    seed: int = 0


def choose_people(people: Sequence[Person], count: int) -> list[Person]:
    """`count` people, taken in turn from each group, in the order given."""
    by_group: dict[str, list[Person]] = defaultdict(list)
    for person in people:
        by_group[person.group].append(person)
    chosen: list[Person] = []
    while len(chosen) < count and any(by_group.values()):
        for group in list(by_group):
            if by_group[group] and len(chosen) < count:
                chosen.append(by_group[group].pop(0))
    return chosen


def compare_with_reference(
    people: Sequence[Person],
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    settings: ReferenceSettings,
) -> list[ReferenceRow]:
    if settings.people == 0:
        return []
    chosen = choose_people(people, settings.people)
    table = build_table(chosen, base, vectors, None, settings.image_size)
    names = composed_tensor_names(base.state_dict(), vectors)
    plans = {layout: CoefficientPlan.for_tensors(layout, names) for layout in FAST_LAYOUTS}
    composed = {layout: ComposedModel(base, vectors, layout) for layout in FAST_LAYOUTS}
    rng = np.random.default_rng(settings.seed + 1)
    config = bench_fit_config()
    rows_out = []
    for draw in support_draws(chosen, table, settings.shots, 1, rng):
        y, truth = draw.targets, draw.truth
        support_pixels = table.pixels_of(draw.support)
        held_pixels = table.pixels_of(draw.held)
        scores: dict[str, float] = {}
        seconds: dict[str, float] = {}
        for layout in FAST_LAYOUTS:
            start = time.perf_counter()
            values = image_values(base, vectors, support_pixels)  # a cold cache
            valued = time.perf_counter() - start
            scored = personal_scores(
                composed[layout], values, y, plans[layout], support_pixels, held_pixels
            )
            fitted = valued + scored.seconds
            method = f"fast, {layout.value}"
            seconds[method] = fitted + scored.correction_seconds
            scores[method] = safe_metric(srocc, scored.held, truth)
            if draw.count >= config.correct_from_ratings:
                seconds[f"{method}, coefficients only"] = fitted
                scores[f"{method}, coefficients only"] = safe_metric(
                    srocc, scored.coefficients_only, truth
                )
        fit = fit_reference(
            base,
            list(vectors),
            support_pixels,
            torch.tensor(y),
            steps=settings.steps,
            seed=settings.seed,
        )
        merged = merged_with(composed[CoefficientLayout.TENSOR], fit.coefficients)
        held, held_features = scores_and_features(merged, held_pixels)
        scores[REFERENCE] = safe_metric(srocc, held, truth)
        seconds[REFERENCE] = fit.seconds
        if draw.count >= config.correct_from_ratings:
            start = time.perf_counter()
            correction, _ = correction_for(merged, PixelImages(support_pixels), y, config)
            # as the device scores: without a correction, the merged model alone
            corrected = held if correction is None else correction.apply(held, held_features)
            scores[CORRECTED_REFERENCE] = safe_metric(srocc, corrected, truth)
            seconds[CORRECTED_REFERENCE] = fit.seconds + time.perf_counter() - start
        rows_out.append(ReferenceRow(draw.person.name, draw.count, scores, seconds))
        log.info("reference %s %d: %s %s", draw.person.name, draw.count, scores, seconds)
    return rows_out


def reference_table(reference: list[ReferenceRow]) -> list[str]:
    lines = [
        "| shots | method | SROCC | seconds per fit | time vs reference |",
        "|---|---|---|---|---|",
    ]
    for shots in sorted({r.shots for r in reference}):
        rows = [r for r in reference if r.shots == shots]
        ref_time = statistics.mean(r.seconds[REFERENCE] for r in rows)
        for method in rows[0].srocc:
            mean = statistics.mean(r.srocc[method] for r in rows)
            secs = statistics.mean(r.seconds[method] for r in rows)
            is_reference = method in (REFERENCE, CORRECTED_REFERENCE)  # its own time
            time_cells = (
                f"{secs:.1f} | 1x" if is_reference else f"{secs:.2f} | {ref_time / secs:.0f}x less"
            )
            lines.append(f"| {shots} | {method} | {mean:.3f} | {time_cells} |")
    return lines


def person_table(reference: list[ReferenceRow], shots: int) -> list[str]:
    rows = [r for r in reference if r.shots == shots]
    if not rows:
        return []
    methods = list(rows[0].srocc)
    lines = [
        "| person | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for row in rows:
        lines.append(
            f"| {row.person} | " + " | ".join(f"{row.srocc[m]:.3f}" for m in methods) + " |"
        )
    return lines


def reference_target_lines(reference: list[ReferenceRow]) -> list[str]:
    """Each fast fit against the reference on the same supports, like with like: with its
    correction against the reference with the same correction, and its coefficients alone
    against the reference's; the per-person gain with its 95 % interval over people."""
    lines = []
    for shots in sorted({r.shots for r in reference}):
        rows = [r for r in reference if r.shots == shots]
        for layout in FAST_LAYOUTS:
            fast = f"fast, {layout.value}"
            pairs = [(fast, REFERENCE)]
            if CORRECTED_REFERENCE in rows[0].srocc:
                pairs = [(fast, CORRECTED_REFERENCE), (f"{fast}, coefficients only", REFERENCE)]
            for method, rival in pairs:
                lines.append(_paired_line(rows, shots, method, rival))
    return lines


def _paired_line(rows: list[ReferenceRow], shots: int, method: str, rival: str) -> str:
    gains = [r.srocc[method] - r.srocc[rival] for r in rows]
    ratio = statistics.mean(r.seconds[rival] for r in rows) / statistics.mean(
        r.seconds[method] for r in rows
    )
    if len(gains) >= 2:
        low, high = mean_interval(gains)
        interval = f" [{low:+.3f}, {high:+.3f}]"
        beats = low >= 0
    else:
        interval, beats = " (one person: no interval)", False
    ok = beats and ratio >= 20
    return (
        f"- {method} >= {rival} at >= 20x less time ({shots} shots): "
        f"{statistics.mean(r.srocc[method] for r in rows):.3f} vs "
        f"{statistics.mean(r.srocc[rival] for r in rows):.3f}, per-person gain "
        f"{statistics.mean(gains):+.3f}{interval}, {ratio:.0f}x less time -> "
        + ("met." if ok else "**not met**.")
    )
