"""`tastevec-sim bench paper`: the paper's personalization protocol on a real personal
database, for a user who has the data.

The database is read by its own loader, in the format it is distributed in (FLICKR-AES test
workers, PARA test users, REAL-CUR albums; see shared/reference/datasets.md), and the
release may be forged on any backbone (the paper's is CLIP ViT-L/14). Protocol (Yun & Choo,
ECCV 2024): for each test person, k random support images (10 and 100) are rated and the
rest of the person's images are the test set; several random draws per person. Each support
is fitted by the device's own pipeline (`personal_fit.fit_personal_model`, the function
`tastevec-client fit` calls), never looking at the test ratings, and scored on the test set
with the real merged model, as the device scores.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tastevec.client.rating_requirements import MIN_RATINGS
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.datasets.catalog import DATABASES, load_people_ratings
from tastevec.common.errors import DatasetError
from tastevec.common.metrics import srocc
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.people.personalize_people import (
    ImageTable,
    Person,
    bench_fit_config,
    build_table,
    people_of,
    personal_scores,
    safe_metric,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table
from tastevec.simulations.tools.paired_bootstrap import mean_interval

log = logging.getLogger(__name__)

# The paper's SROCC (mean over test users) at 10 / 100 shots with OpenCLIP ViT-L/14: AADB
# from its Table 3, REAL-CUR read from the project page's plot (six task vectors), FLICKR-AES
# as quoted in the project's issue 21. PARA: none published.
PAPER_SROCC = {
    "flickr_aes": {10: 0.668, 100: 0.748},
    "real_cur": {10: 0.577, 100: 0.621},
    "aadb": {10: 0.556, 100: 0.654},
}
PLAIN = "plain average of task vectors (no ratings)"
LAYOUTS = (CoefficientLayout.BLOCK, CoefficientLayout.TENSOR)
COEFFICIENTS_ONLY = "fast, block, coefficients only"


@dataclass(frozen=True, slots=True)
class PaperSettings:
    database: str
    root: Path
    split: str = "test"
    options: Mapping[str, Any] = field(default_factory=dict)
    shots: tuple[int, ...] = (10, 100)
    draws: int = 10
    people: int | None = None
    seed: int = 0


@dataclass
class PaperResults:
    """SROCC per method, shots and person: one value per draw."""

    srocc: dict[tuple[str, int], dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    seconds: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, method: str, shots: int, person: str, value: float, seconds: float) -> None:
        self.srocc[method, shots][person].append(value)
        self.seconds[method, shots].append(seconds)

    def per_person(self, method: str, shots: int) -> dict[str, float]:
        draws = self.srocc.get((method, shots), {})
        return {person: statistics.mean(values) for person, values in draws.items()}


def run_paper_benchmark(release: Path, trust: Path, settings: PaperSettings) -> str:
    """Fit every test person's supports and return the markdown report."""
    if settings.database not in DATABASES or not DATABASES[settings.database].has_people:
        personal = sorted(name for name, info in DATABASES.items() if info.has_people)
        raise DatasetError(
            f"{settings.database!r} is not a personal database (personal: {', '.join(personal)})"
        )
    torch.manual_seed(settings.seed)
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    ratings = load_people_ratings(settings.database, settings.root, **settings.options)
    people = people_of(ratings, settings.split, settings.people)
    if not people:
        raise DatasetError(f"{settings.database} at {settings.root}: no people in {settings.split}")
    log.info("%d people; computing each image's values", len(people))
    table = build_table(people, base, vectors, None, None)
    names = composed_tensor_names(base.state_dict(), vectors)
    plans = {layout: CoefficientPlan.for_tensors(layout, names) for layout in LAYOUTS}
    composed = {layout: ComposedModel(base, vectors, layout) for layout in LAYOUTS}
    results = PaperResults()
    rng = np.random.default_rng(settings.seed)
    for person in people:
        _fit_person(results, person, table, plans, composed, settings, rng)
        log.info("done %s", person.name)
    return _report(settings, manifest.release_id, base.preprocessing.input_size, people, results)


def _fit_person(
    results: PaperResults,
    person: Person,
    table: ImageTable,
    plans: dict[CoefficientLayout, CoefficientPlan],
    composed: dict[CoefficientLayout, ComposedModel],
    settings: PaperSettings,
    rng: np.random.Generator,
) -> None:
    rows = table.rows(person)
    for shots in settings.shots:
        if shots >= len(rows) - 5:  # fewer than 5 test images left: no SROCC worth the name
            continue
        for _ in range(settings.draws):
            order = rng.permutation(len(rows))
            support, held = rows[order[:shots]], rows[order[shots:]]
            truth = person.targets[order[shots:]]
            plain = [table.values[i].score for i in held]
            results.add(PLAIN, shots, person.name, safe_metric(srocc, plain, truth), 0.0)
            support_pixels = table.pixels_of(support)
            held_pixels = table.pixels_of(held)
            for layout in LAYOUTS:
                if shots < MIN_RATINGS[layout]:
                    continue
                scored = personal_scores(
                    composed[layout],
                    [table.values[i] for i in support],
                    person.targets[order[:shots]],
                    plans[layout],
                    support_pixels,
                    held_pixels,
                )
                seconds = scored.seconds + scored.correction_seconds  # the fit, not the scoring
                value = safe_metric(srocc, scored.held, truth)
                results.add(f"fast, {layout.value}", shots, person.name, value, seconds)
                if layout is CoefficientLayout.BLOCK:
                    value = safe_metric(srocc, scored.coefficients_only, truth)
                    results.add(COEFFICIENTS_ONLY, shots, person.name, value, scored.seconds)


def _report(
    settings: PaperSettings,
    release_id: str,
    image_size: int,
    people: Sequence[Person],
    results: PaperResults,
) -> str:
    title = DATABASES[settings.database].title
    methods = [PLAIN, "fast, block", COEFFICIENTS_ONLY, "fast, tensor"]
    shots = [s for s in settings.shots if results.per_person(PLAIN, s)]
    lines = [
        f"# The paper's protocol on {title}",
        "",
        f"Database `{settings.database}` read from `{settings.root}` by its own loader, split "
        f"`{settings.split}`: {len(people)} people. Release `{release_id}` at {image_size} px. "
        f"For each person and number of shots, {settings.draws} random supports; the rest of "
        "the person's images are the test set. Each support is fitted by the device's "
        f"pipeline (`fit_personal_model`, feature correction from "
        f"{bench_fit_config().correct_from_ratings} ratings on); SROCC on the test set, "
        "averaged over draws per person, then over people.",
        "",
        *machine_table(describe_machine()),
        "",
        "## SROCC, mean over people",
        "",
        "| method | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---" * (len(shots) + 1) + "|",
    ]
    for method in methods:
        cells = []
        for count in shots:
            values = list(results.per_person(method, count).values())
            cells.append(f"{statistics.mean(values):.3f}" if values else "—")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    paper = PAPER_SROCC.get(settings.database)
    if paper:
        cells = [f"{paper[s]:.3f}" if s in paper else "—" for s in shots]
        lines.append("| the paper (CLIP ViT-L/14, its own fit) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## The device's fit against no ratings, paired by person",
        "",
        "Gain of `fast, block` over the plain average, per person; 95 % bootstrap interval "
        "over people.",
        "",
        "| shots | people | mean gain | 95 % interval | fit seconds (median) |",
        "|---|---|---|---|---|",
    ]
    for count in shots:
        fast, plain = results.per_person("fast, block", count), results.per_person(PLAIN, count)
        common = sorted(set(fast) & set(plain))
        if not common:
            continue
        gains = [fast[name] - plain[name] for name in common]
        low, high = mean_interval(gains) if len(gains) > 1 else (gains[0], gains[0])
        seconds = statistics.median(results.seconds["fast, block", count])
        lines.append(
            f"| {count} | {len(common)} | {statistics.mean(gains):+.3f} | "
            f"[{low:+.3f}, {high:+.3f}] | {seconds:.2f} |"
        )
    return "\n".join(lines) + "\n"
