"""`tastevec-sim bench personalize`: personalization on the photo world's test people.

For every held-out test person (FLICKR-AES- and PARA-like test people on the training domain,
REAL-CUR-like album owners on the held-out domain), several random support draws at each
number of shots; each method sees the support ratings only and is scored on the person's
remaining images (SROCC, PLCC). Fast fits are scored as the device scores: the real merged
model, never its linear approximation, with the feature correction from 50 ratings on (and,
side by side, without it). On request (`--reference-people`) the reference fit is compared
with the fast fit on a subset, at a reduced image size for both; `bench_reference.py` makes
that comparison at the release's own size. The training people who make the population prior
also show when the fast fit should step from its start point (`step_calibration.py`); no test
person informs that. The ratings are simulated, and the report says so.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from tastevec.client.fast_fit import fit_values, own_start
from tastevec.client.rating_requirements import MIN_RATINGS
from tastevec.common.coefficient_prior import (
    CoefficientPrior,
    CoefficientSums,
    population_prior,
)
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.metrics import plcc, srocc
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.score_model import ScoreModel
from tastevec.common.signing import load_public_key
from tastevec.common.task_vector import TaskVector
from tastevec.simulations.benchmarks.personalize_baselines import (
    head_fine_tune_predictions,
    ridge_predictions,
)
from tastevec.simulations.benchmarks.reference_comparison import (
    ReferenceRow,
    ReferenceSettings,
    compare_with_reference,
    reference_table,
    reference_target_lines,
)
from tastevec.simulations.calibrations.correction_calibration import (
    CorrectionRow,
    calibrate_score_weight,
    correction_lines,
)
from tastevec.simulations.calibrations.prior_calibration import (
    PriorRow,
    calibrate_prior_worth,
    prior_lines,
)
from tastevec.simulations.calibrations.step_calibration import StepRow, calibrate_steps, step_lines
from tastevec.simulations.people.people_split import PeopleSet, split_people
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    ImageTable,
    Person,
    bench_fit_config,
    build_table,
    load_people,
    merged_with,
    personal_scores,
    real_scores,
    safe_metric,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table
from tastevec.simulations.tools.paired_bootstrap import mean_interval

log = logging.getLogger(__name__)

LAYOUTS = (CoefficientLayout.GLOBAL, CoefficientLayout.BLOCK, CoefficientLayout.TENSOR)
PRIOR_GROUPS = (("flickr_aes", "train"), ("para", "train"))
GENERIC = "ava"  # the generic (GIAA) model: the AVA task vector's own model
PRIOR_SHOTS = 100
COEFFICIENTS_ONLY = "fast, block, coefficients only"
DEFAULT = "fast, block"  # the device's default fit
INITIALISATION = "paper's initialisation (block)"  # the default fit's centre, unmoved
BASELINES = (
    "generic (AVA model)",
    "best single task vector",
    "plain average of task vectors",
    "ridge probe (base features)",
    "head fine-tune (generic model)",
    "output-space ensemble",
)


@dataclass(frozen=True, slots=True)
class Settings:
    shots: tuple[int, ...] = (5, 10, 20, 50, 100)
    draws: int = 3
    people: int | None = None  # per group, before the development/final split; None: all
    which: PeopleSet = "final"
    prior_people: int = 30  # training people whose fits make the population prior; 0: none
    # off by default: `bench reference` runs this comparison at the release's own size
    reference: ReferenceSettings = field(default_factory=lambda: ReferenceSettings(people=0))
    seed: int = 0


@dataclass
class Results:
    srocc: dict[tuple[str, int], list[list[float]]] = field(default_factory=dict)
    plcc: dict[tuple[str, int], list[list[float]]] = field(default_factory=dict)
    seconds: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    groups: dict[tuple[str, int, str], list[float]] = field(default_factory=dict)
    # (method, shots) -> person ("group/name") -> SROCC of each draw
    people: dict[tuple[str, int], dict[str, list[float]]] = field(default_factory=dict)

    def add(self, method: str, shots: int, draw: int, person: Person, pred, truth, secs) -> None:  # type: ignore[no-untyped-def]
        for table, metric in ((self.srocc, srocc), (self.plcc, plcc)):
            rows = table.setdefault((method, shots), [])
            while len(rows) <= draw:
                rows.append([])
            rows[draw].append(safe_metric(metric, pred, truth))
        self.seconds.setdefault((method, shots), []).append(secs)
        value = safe_metric(srocc, pred, truth)
        self.groups.setdefault((method, shots, person.group), []).append(value)
        named = self.people.setdefault((method, shots), {})
        named.setdefault(f"{person.group}/{person.name}", []).append(value)

    def gain(self, better: str, than: str, shots: int) -> tuple[float, float, float] | None:
        """The mean per-person gain in SROCC (each person's mean over draws) of `better` over
        `than` at `shots`, over the people both were measured on, and its 95 % bootstrap
        interval over people; None where fewer than two people have both."""
        a, b = self.people.get((better, shots), {}), self.people.get((than, shots), {})
        both = [name for name in a if name in b]
        if len(both) < 2:
            return None
        gains = [statistics.mean(a[n]) - statistics.mean(b[n]) for n in both]
        low, high = mean_interval(gains)
        return statistics.mean(gains), low, high


def prior_fits(people: Sequence[Person], table: ImageTable, plan: CoefficientPlan) -> torch.Tensor:
    """Each person's fast fit on PRIOR_SHOTS of their ratings: [people, groups, K]."""
    coefficients = []
    rng = np.random.default_rng(12345)
    for person in people:
        rows = table.rows(person)
        chosen = rng.permutation(len(rows))[:PRIOR_SHOTS]
        solution = fit_values(
            [table.values[i] for i in rows[chosen]],
            person.targets[chosen],
            plan,
            config=bench_fit_config(),
        )
        coefficients.append(solution.coefficients)
    return torch.stack(coefficients)


@dataclass(frozen=True, slots=True)
class TrainingPeople:
    """What the training people (never a test person) give: the population prior, and the
    measurements that chose the fast fit's constants."""

    prior: CoefficientPrior
    steps: list[StepRow]
    worths: list[PriorRow]
    corrections: list[CorrectionRow]


def _training_people(
    world: Path,
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    generic: ScoreModel,
    plans: dict[CoefficientLayout, CoefficientPlan],
    composed: dict[CoefficientLayout, ComposedModel],
    settings: Settings,
) -> TrainingPeople:
    trainers = load_people(world, PRIOR_GROUPS, settings.prior_people // 2)
    table = build_table(trainers, base, vectors, generic, None)
    block = CoefficientLayout.BLOCK
    fits = prior_fits(trainers, table, plans[block])
    shared = (plans[block], composed[block], settings.shots, settings.draws)
    worths = calibrate_prior_worth(trainers, table, fits, *shared, settings.seed + 3)
    log.info("how much the prior counts: %s", worths)
    steps = calibrate_steps(trainers, table, *shared, settings.seed + 2)
    log.info("when to step: %s", steps)
    corrections = calibrate_score_weight(trainers, table, *shared, settings.seed + 4)
    log.info("how much the score counts in the correction: %s", corrections)
    return TrainingPeople(
        population_prior(CoefficientSums.of(block, fits)), steps, worths, corrections
    )


def run_personalize_benchmark(
    world: Path, release: Path, trust: Path, settings: Settings = Settings()
) -> tuple[str, Results]:
    torch.manual_seed(settings.seed)
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    sources = [v.source for v in vectors]
    names = composed_tensor_names(base.state_dict(), vectors)
    generic = _single(base, vectors, sources.index(GENERIC))
    people = split_people(load_people(world, TEST_GROUPS, settings.people), settings.which)
    log.info("%d %s test people; computing per-image values", len(people), settings.which)
    table = build_table(people, base, vectors, generic, None)
    plans = {layout: CoefficientPlan.for_tensors(layout, names) for layout in LAYOUTS}
    composed = {layout: ComposedModel(base, vectors, layout) for layout in LAYOUTS}
    training = None
    if settings.prior_people:
        training = _training_people(world, base, vectors, generic, plans, composed, settings)
    prior = None if training is None else training.prior
    context = Context(table, plans, composed, prior, sources, generic.head)
    results = Results()
    rng = np.random.default_rng(settings.seed)
    for person in people:
        rows = table.rows(person)
        for shots in settings.shots:
            if shots >= len(rows) - 5:
                continue
            for draw in range(settings.draws):
                order = rng.permutation(len(rows))
                support, held = order[:shots], order[shots:]
                _run_methods(results, context, person, shots, draw, support, held)
        log.info("done %s %s", person.group, person.name)
    reference = compare_with_reference(people, base, vectors, settings.reference)
    report = _report(
        world,
        manifest.release_id,
        base,
        settings,
        people,
        table,
        results,
        reference,
        training,
    )
    return report, results


def _single(base: ScoreModel, vectors: Sequence[TaskVector], index: int) -> ScoreModel:
    composed = ComposedModel(base, vectors, CoefficientLayout.GLOBAL)
    one_hot = torch.zeros(len(vectors))
    one_hot[index] = 1.0
    return merged_with(composed, one_hot)


@dataclass(frozen=True)
class Context:
    """What every fit of the benchmark shares."""

    table: ImageTable
    plans: dict[CoefficientLayout, CoefficientPlan]
    composed: dict[CoefficientLayout, ComposedModel]
    prior: CoefficientPrior | None
    sources: list[str]
    generic_head: torch.nn.Module


def _run_methods(
    results: Results,
    context: Context,
    person: Person,
    shots: int,
    draw: int,
    support: np.ndarray,
    held: np.ndarray,
) -> None:
    table, sources = context.table, context.sources
    rows = table.rows(person)
    y_support, y_held = person.targets[support], person.targets[held]
    own = np.stack([table.values[i].single_scores for i in rows])

    def add(method: str, pred: object, seconds: float) -> None:
        results.add(method, shots, draw, person, pred, y_held, seconds)

    add("generic (AVA model)", own[held, sources.index(GENERIC)], 0.0)
    start = time.perf_counter()
    best = int(
        np.argmax([safe_metric(srocc, own[support, i], y_support) for i in range(len(sources))])
    )
    add("best single task vector", own[held, best], time.perf_counter() - start)
    add("plain average of task vectors", [table.values[i].score for i in rows[held]], 0.0)
    held_pixels = table.pixels_of(rows[held])
    support_pixels = table.pixels_of(rows[support])
    support_values = [table.values[i] for i in rows[support]]
    fits: list[tuple[str, CoefficientPlan, CoefficientPrior | None]] = [
        (f"fast, {layout.value}", context.plans[layout], None) for layout in LAYOUTS
    ]
    if context.prior is not None:
        block = context.plans[CoefficientLayout.BLOCK]
        fits.append(("fast, block + population prior", block, context.prior))
    for method, plan, prior in fits:
        if len(support) < MIN_RATINGS[plan.layout]:
            continue
        composed = context.composed[plan.layout]
        scored = personal_scores(
            composed, support_values, y_support, plan, support_pixels, held_pixels, prior
        )
        add(method, scored.held, scored.seconds + scored.correction_seconds)
        if method == DEFAULT and len(support) >= bench_fit_config().correct_from_ratings:
            add(COEFFICIENTS_ONLY, scored.coefficients_only, scored.seconds)
    block = context.plans[CoefficientLayout.BLOCK]
    if len(support) >= MIN_RATINGS[block.layout]:
        start = time.perf_counter()
        own_support = np.stack([v.single_scores for v in support_values])
        paper = 0.0  # the paper's temperature, untempered
        centre = own_start(own_support, y_support, block.num_groups, paper)
        centre = centre.reshape(block.num_groups, -1)
        seconds = time.perf_counter() - start
        coefficients = torch.tensor(centre, dtype=torch.float32)
        pred = real_scores(context.composed[block.layout], coefficients, held_pixels)
        add(INITIALISATION, pred, seconds)
    base_features = np.stack([table.base_features[i] for i in rows])
    start = time.perf_counter()
    pred = ridge_predictions(base_features[support], y_support, base_features[held])
    add("ridge probe (base features)", pred, time.perf_counter() - start)
    start = time.perf_counter()
    pred = ridge_predictions(own[support], y_support, own[held])
    add("output-space ensemble", pred, time.perf_counter() - start)
    generic_features = np.stack([table.generic_features[i] for i in rows])
    start = time.perf_counter()
    pred = head_fine_tune_predictions(
        context.generic_head, generic_features[support], y_support, generic_features[held]
    )
    add("head fine-tune (generic model)", pred, time.perf_counter() - start)


def _cell(per_draw: list[list[float]]) -> str:
    means = [statistics.mean(d) for d in per_draw if d]
    spread = statistics.stdev(means) if len(means) > 1 else 0.0
    return f"{statistics.mean(means):.3f} ± {spread:.3f}"


def _mean(per_draw: list[list[float]]) -> float:
    return statistics.mean(v for d in per_draw for v in d)


METHOD_ORDER = (
    *BASELINES,
    INITIALISATION,
    "fast, global",
    "fast, block",
    COEFFICIENTS_ONLY,
    "fast, tensor",
    "fast, block + population prior",
)


def _metric_table(
    title: str,
    table: dict[tuple[str, int], list[list[float]]],
    results: Results,
    shots: list[int],
) -> list[str]:
    lines = [f"## {title}", "", "| method | " + " | ".join(f"{s} shots" for s in shots) + " |"]
    lines.append("|---|" + "---|" * len(shots))
    for method in _methods(results):
        cells = [_cell(table[(method, s)]) if (method, s) in table else "—" for s in shots]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _methods(results: Results) -> list[str]:
    present = {method for method, _ in results.srocc}
    return [m for m in METHOD_ORDER if m in present]


def _report(
    world: Path,
    release_id: str,
    base: ScoreModel,
    settings: Settings,
    people: Sequence[Person],
    table: ImageTable,
    results: Results,
    reference: list[ReferenceRow],
    training: TrainingPeople | None,
) -> str:
    shots = [s for s in settings.shots if any((m, s) in results.srocc for m in _methods(results))]
    groups = ", ".join(
        f"{sum(p.group == g for p in people)} `{g}`" for g in dict.fromkeys(p.group for p in people)
    )
    once = (
        "the world's **final** test people, evaluated once for this report (methods were "
        "designed and tuned on the development people)"
        if settings.which == "final"
        else "the world's **development** test people (for designing and tuning)"
    )
    lines = [
        "# Personalization benchmark: the photo world's test people",
        "",
        "The ratings are **simulated**: each test person is a defined rater model over real "
        "photos and their edits (see the world card), not a person.",
        "",
        f"World `{world}`, release `{release_id}` (backbone "
        f"{base.preprocessing.input_size} px). Test people: {once}: {groups} "
        "(`real_cur`: the held-out domain, photos no training database saw). For each person, "
        f"{settings.draws} random support draws at each number of shots; every method sees "
        "only the support ratings and is scored on the person's remaining images. Fast fits "
        "are scored as the device scores: the real merged model, from "
        f"{bench_fit_config().correct_from_ratings} ratings on"
        f" with the feature correction "
        "(`client/feature_correction.py`); the block layout also without it "
        f"(`{COEFFICIENTS_ONLY}`); `{INITIALISATION}` is the paper's initialisation "
        "softmax(10 x each task vector's zero-shot SROCC on the support), unmoved (the "
        "block fit starts from it tempered for few ratings). Fit times include the "
        "correction. Means over people and draws; ± is the standard deviation over draws "
        "of the mean over people.",
        "",
        *machine_table(describe_machine()),
        "",
        *_metric_table("SROCC", results.srocc, results, shots),
        *_metric_table("PLCC", results.plcc, results, shots),
        "## Fit time (seconds per fit, median; image values already computed)",
        "",
        "| method | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---|" + "---|" * len(shots),
    ]
    for method in _methods(results):
        cells = [
            f"{statistics.median(results.seconds[(method, s)]):.3f}"
            if (method, s) in results.seconds
            else "—"
            for s in shots
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"A fast fit first needs each rated image's values (score, own scores of the task "
        f"vectors, Jacobian): {table.seconds_per_image * 1000:.0f} ms per image on this machine, "
        "once per image (cached in the person's home), so a first fit from 100 new ratings "
        f"adds about {table.seconds_per_image * 100:.1f} s.",
        "",
        "## SROCC by group at 10 and 100 shots",
        "",
        "| method | group | 10 shots | 100 shots |",
        "|---|---|---|---|",
    ]
    for method in _methods(results):
        for group in dict.fromkeys(p.group for p in people):
            cells = []
            for s in (10, 100):
                values = results.groups.get((method, s, group))
                cells.append(f"{statistics.mean(values):.3f}" if values else "—")
            lines.append(f"| {method} | {group} | " + " | ".join(cells) + " |")
    lines += _reference_lines(reference, settings)
    lines += _target_lines(results, reference)
    if training is not None:
        people_count = training.prior.people
        lines += [
            "",
            f"Population prior: block-layout fast fits of {settings.prior_people} training "
            f"people of the personal databases ({PRIOR_SHOTS} ratings each); mean and "
            "variance per coefficient. No test person took part.",
        ]
        lines += step_lines(training.steps, people_count, "block")
        lines += prior_lines(training.worths, people_count)
        lines += correction_lines(training.corrections, people_count)
    return "\n".join(lines) + "\n"


def _reference_lines(reference: list[ReferenceRow], settings: Settings) -> list[str]:
    if not reference:
        return []
    return [
        "",
        "## Fast against reference",
        "",
        f"{len({r.person for r in reference})} test people, one support draw, both modes at "
        f"{settings.reference.image_size} px (reduced from the release's size so that the "
        f"reference's {settings.reference.steps} training steps fit on this CPU), cold: the "
        "fast fit's time includes computing every support image's values and, from "
        f"{bench_fit_config().correct_from_ratings} ratings on"
        f", the feature correction. The reference is the "
        "paper's fit: coefficients only. At the release's own size: `tastevec-sim bench "
        "reference` (`reference-bench.md`).",
        "",
        *reference_table(reference),
    ]


def _target_lines(results: Results, reference: list[ReferenceRow]) -> list[str]:
    """The issue's targets, each judged by a paired interval over people (the same supports
    for every method)."""
    lines = [
        "",
        "## Targets",
        "",
        "Each gain is per person (mean over draws), with its 95 % "
        "bootstrap interval over people; a target is met where the interval is above 0.",
        "",
    ]
    generic = results.gain(DEFAULT, "generic (AVA model)", 100)
    if generic is not None:
        verdict = "met" if generic[1] >= 0.10 else "**not met**"
        lines.append(
            f"- Personalized ({DEFAULT}) beats generic by >= 0.10 SROCC at 100 shots: "
            f"{_gain(generic)} -> {verdict} (lower bound >= 0.10)."
        )
    shots = sorted({s for m, s in results.people if m == DEFAULT})
    if shots:
        lines += [
            f"- {DEFAULT} beats every baseline at every number of shots:",
            "",
            "| gain of " + DEFAULT + " over | " + " | ".join(f"{s} shots" for s in shots) + " |",
            "|---|" + "---|" * len(shots),
        ]
        lost = []
        for baseline in BASELINES:
            cells = []
            for count in shots:
                gain = results.gain(DEFAULT, baseline, count)
                cells.append("—" if gain is None else _gain(gain))
                if gain is not None and gain[1] <= 0:
                    lost.append(f"{baseline} at {count}")
            lines.append(f"| {baseline} | " + " | ".join(cells) + " |")
        verdict = "met" if not lost else "**not met**: " + ", ".join(lost)
        lines += ["", f"  -> {verdict}."]
    few = [(s, results.gain(DEFAULT, INITIALISATION, s)) for s in (10, 20)]
    measured = [(s, g) for s, g in few if g is not None]
    if measured:
        verdict = "met" if all(g[1] > 0 for _, g in measured) else "**not met**"
        lines.append(
            "- Few ratings count: the fit gains over the paper's initialisation at "
            + ", ".join(f"{s} shots {_gain(g)}" for s, g in measured)
            + f" -> {verdict}."
        )
    prior = [(s, results.gain("fast, block + population prior", DEFAULT, s)) for s in shots]
    if any(g is not None for _, g in prior):
        lines.append(
            "- The population prior against none: "
            + ", ".join(f"{s} shots {_gain(g)}" for s, g in prior if g is not None)
            + "."
        )
    lines += reference_target_lines(reference) or [
        "- Fast against the paper's reference fit, like with like, at >= 20x less time: "
        "`tastevec-sim bench reference` (`reference-bench.md`)."
    ]
    return lines


def _gain(gain: tuple[float, float, float]) -> str:
    return f"{gain[0]:+.3f} [{gain[1]:+.3f}, {gain[2]:+.3f}]"


def plot_srocc(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for method in _methods(results):
        points = sorted((s, _mean(v)) for (m, s), v in results.srocc.items() if m == method)
        style = "-" if method.startswith("fast") else "--"
        axes.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=method)
    axes.set_xscale("log")
    axes.set_xlabel("shots (rated images)")
    axes.set_ylabel("SROCC on the person's other images")
    axes.set_title("Personalization on the photo world (simulated ratings)")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
