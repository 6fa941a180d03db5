"""`tastevec-sim report`: the federation's experiments, run once, in one markdown report with
PNG plots (`--out`; the committed one is simulations/results/federation-report.md).

1. The population (the world's training people of the personal databases; never a test
   person) become devices with homes of their own, sharing on, and run the product's
   ServerApp and ClientApp in Flower's simulation engine for `rounds` rounds: its wall time,
   each virtual client's peak memory, and each round's SecAgg+ prior against the clear-text
   prior of the very fits the devices made.
2. The prior as people join: one-round runs over the first 10 and 50 people beside the whole
   population's first round.
3. Differential privacy: one-round runs at the noise multipliers that give the target
   epsilons (Flower's RDP accountant), the clipping norm chosen from the population's own
   statistics (training people, not test people).
4. Dropouts (simulations/federation/dropout_rounds.py) and the full or low-rank covariance
   against the per-coefficient spread (simulations/calibrations/prior_covariance.py, on
   development test people).
5. The final test people, evaluated once: SROCC against shots with no prior, the federated
   prior and the DP priors; SROCC against the number of task vectors (the paper's order);
   SROCC with the priors of 10, 50 and all people. Gains are per person, paired (the same
   supports for every condition), with bootstrap intervals over people.

Every stage is kept under the scratch folder as it finishes
(simulations/federation/report_stages.py), so a report cut short resumes where it stopped.
The ratings are simulated (the photo world); the report says so.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.errors import TastevecError
from tastevec.common.release import verify_release
from tastevec.common.release_model import (
    load_release_model,
    load_release_task_vectors,
)
from tastevec.common.shared_statistics import StatisticsEncoding, encode_statistics
from tastevec.common.signing import load_public_key
from tastevec.common.task_vector import TaskVector
from tastevec.server.privacy_accounting import PrivacyBudget
from tastevec.simulations.calibrations.prior_weight import chosen_weight, weigh, weight_lines
from tastevec.simulations.federation.clear_text_priors import (
    clear_fits,
    published_prior,
    secagg_against_clear,
)
from tastevec.simulations.federation.federated_run import FederatedRun, run_federation
from tastevec.simulations.federation.population_homes import (
    POPULATION_GROUPS,
    Population,
    make_homes,
    run_folder,
)
from tastevec.simulations.federation.report_plots import plot_cohorts, plot_shots, plot_vectors
from tastevec.simulations.federation.report_stages import Stages
from tastevec.simulations.federation.shared_image_values import SharedValues, share_image_values
from tastevec.simulations.people.people_split import PeopleSet, split_people
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    ImageTable,
    Person,
    bench_fit_config,
    build_table,
    load_people,
)
from tastevec.simulations.people.prior_evaluation import (
    PersonScores,
    evaluate,
    merged,
    with_first_vectors,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table

log = logging.getLogger(__name__)

LAYOUT = CoefficientLayout.BLOCK
PAPER_ORDER = ("ava", "flickr_aes", "tad66k", "para", "koniq10k", "spaq")  # method.md
LIFT_TARGET = 0.03  # the federated prior over no prior, at 5 and at 10 shots
SECAGG_TARGET = 1e-4
TIME_TARGET = 15 * 60.0  # seconds, 200 people x 3 rounds
NO_PRIOR, FEDERATED = "no prior", "federated prior"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    people: int = 200
    rounds: int = 3
    cohorts: tuple[int, ...] = (10, 50)  # beside all the people
    epsilons: tuple[float, ...] = (1.0, 3.0, 8.0)
    dp_delta: float = 1e-5
    shots: tuple[int, ...] = (5, 10, 20, 50, 100)
    vector_shots: tuple[int, ...] = (10, 100)
    draws: int = 3
    dropout_people: int = 9
    # SecAgg+ over a large cohort: each device's keys shared with num_shares - 1 others, any
    # threshold of them reconstruct (all-to-all sharing is O(n^2) work); a cohort no larger
    # than num_shares shares all to all (Flower's fractions 1.0 and 0.5)
    num_shares: int = 21
    threshold: int = 11
    seed: int = 0

    def secagg(self, people: int) -> dict[str, int]:
        if people <= self.num_shares:
            return {}
        return {"num-shares": self.num_shares, "reconstruction-threshold": self.threshold}


def run_report(
    world: Path,
    release: Path,
    trust: Path,
    key: Path,
    scratch: Path,
    out: Path,
    settings: ReportSettings = ReportSettings(),
) -> str:
    world, release, trust, key, scratch = (
        p.resolve() for p in (world, release, trust, key, scratch)
    )
    torch.manual_seed(settings.seed)
    started = time.perf_counter()
    manifest = verify_release(release, load_public_key(trust))
    start = manifest.release_id
    persons = load_people(world, POPULATION_GROUPS, None)[: settings.people]
    if len(persons) < max((*settings.cohorts, 3)):
        raise TastevecError(f"the world has {len(persons)} population people; too few")
    stages = Stages(scratch / "stages")
    homes = [scratch / "homes" / f"person-{i}" for i in range(len(persons))]
    if stages.done("shared-values"):
        population = Population(scratch / "homes", len(persons), tuple(persons))
    else:
        population = make_homes(persons, release, trust, scratch)
    shared = stages.get(
        "shared-values",
        lambda: share_image_values(homes),
        lambda v: [v.photos, v.ratings, v.seconds],
        lambda v: SharedValues(int(v[0]), int(v[1]), float(v[2])),
    )
    runs = scratch / "runs"

    def federated(name: str, people: int | None, config: dict[str, Any]) -> FederatedRun:
        return stages.federated(
            name,
            runs,
            lambda: run_federation(
                population,
                run_folder(release, start, runs / name),
                start,
                key,
                trust,
                people=people,
                config=config,
            ),
        )

    # the one-round runs first: each starts from `start`, and a device never goes back to an
    # older release, which the main run's later rounds would have made it hold
    cohort_priors: dict[int, CoefficientPrior | None] = {}
    for count in (*settings.cohorts, len(persons)):
        log.info("the prior of the first %d people", count)
        run = federated(f"cohort-{count}", count, dict(settings.secagg(count)))
        cohort_priors[count] = _prior(run, run.rounds[0], trust)
    first_fits = clear_fits(
        population.homes, population.people, start
    )  # each device's own fit, no prior

    clip = _clipping_norm(first_fits)
    dp_priors: dict[float, tuple[float, float, CoefficientPrior | None]] = {}
    for epsilon in settings.epsilons:
        multiplier = noise_multiplier_for(epsilon, settings.dp_delta, len(persons))
        log.info("DP at epsilon %.1f: noise multiplier %.3f", epsilon, multiplier)
        dp_config = {
            "dp-noise-multiplier": multiplier,
            "dp-clipping-norm": clip,
            "dp-delta": settings.dp_delta,
        }
        run = federated(f"dp-{epsilon:g}", None, {**settings.secagg(len(persons)), **dp_config})
        entry = run.rounds[0]
        dp_priors[epsilon] = (
            multiplier,
            float(entry.get("dp_epsilon", math.nan)),
            _prior(run, entry, trust),
        )

    dropout_lines = stages.lines(
        "dropouts", lambda: _dropouts(release, start, key, trust, population, runs, settings)
    )

    log.info("federation: %d people x %d rounds", len(persons), settings.rounds)
    main = federated("main", None, {"rounds": settings.rounds, **settings.secagg(len(persons))})
    secagg_rows = stages.lines(
        "secagg", lambda: secagg_against_clear(main, population, trust, start)
    )
    round_priors = [_prior(main, entry, trust) for entry in main.rounds]

    base = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    names = composed_tensor_names(base.state_dict(), vectors)
    plan = CoefficientPlan.for_tensors(LAYOUT, names)
    composed = ComposedModel(base, vectors, LAYOUT)
    test_people = load_people(world, TEST_GROUPS, None)
    development = split_people(test_people, "development")
    final = split_people(test_people, "final")

    @functools.cache  # built only when a stage that needs it has to run
    def table_of(people: PeopleSet) -> ImageTable:
        chosen = development if people == "development" else final
        return build_table(chosen, base, vectors, None, None)

    covariance_lines = stages.lines(
        "covariance",
        lambda: _covariance(first_fits, development, table_of("development"), plan, settings),
    )
    federated_prior = round_priors[-1]
    if federated_prior is None:
        raise TastevecError("the main run published no prior; see its log")
    weight_scores = stages.scores(
        "prior-weight",
        lambda: weigh(
            development,
            table_of("development"),
            composed,
            plan,
            federated_prior,
            settings.draws,
            settings.seed,
        ),
    )
    weight = chosen_weight(weight_scores)
    config = dataclasses.replace(bench_fit_config(), prior_weight=weight)

    log.info("final test people: %d, evaluated once (prior weight %g)", len(final), weight)

    def evaluated(
        name: str, conditions: dict[str, CoefficientPrior | None], shots: tuple[int, ...]
    ) -> PersonScores:
        return stages.scores(
            name,
            lambda: evaluate(
                final,
                table_of("final"),
                composed,
                plan,
                conditions,
                shots,
                settings.draws,
                settings.seed,
                config,
            ),
        )

    priors: dict[str, CoefficientPrior | None] = {NO_PRIOR: None, FEDERATED: federated_prior}
    for epsilon, (_, _, prior) in dp_priors.items():
        priors[f"DP, epsilon {epsilon:g}"] = prior
    shots_scores = merged(
        [
            evaluated(f"shots-{index}", {name: prior}, settings.shots)
            for index, (name, prior) in enumerate(priors.items())
        ]
    )
    joined = {f"{n} people": p for n, p in sorted(cohort_priors.items())}
    join_shots = tuple(s for s in settings.shots if s <= 10)
    join_scores = merged(
        [
            evaluated(f"join-{index}", {name: prior}, join_shots)
            for index, (name, prior) in enumerate({NO_PRIOR: None, **joined}.items())
        ]
    )
    ordered = sorted(vectors, key=lambda v: _paper_rank(v.source))

    def first_vectors(k: int) -> PersonScores:
        return stages.scores(
            f"vectors-{k}",
            lambda: with_first_vectors(
                final, base, ordered, k, settings.vector_shots, settings.draws, settings.seed
            ),
        )

    vector_scores = merged([first_vectors(k) for k in range(1, len(ordered) + 1)])

    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    plots = {
        "shots": stem.with_name(stem.name + "-shots.png"),
        "vectors": stem.with_name(stem.name + "-vectors.png"),
        "cohorts": stem.with_name(stem.name + "-cohorts.png"),
    }
    plot_shots(shots_scores, list(priors), settings.shots, plots["shots"])
    plot_vectors(vector_scores, len(ordered), settings.vector_shots, plots["vectors"])
    plot_cohorts(join_scores, list(joined), join_shots, plots["cohorts"])
    return "\n".join(
        _header(world, start, settings, len(persons), len(final), base.preprocessing.input_size)
        + _federation_lines(main, secagg_rows, settings, len(persons), shared)
        + weight_lines(weight_scores, weight, len(development))
        + _shots_lines(shots_scores, list(priors), settings, dp_priors, clip, plots["shots"])
        + _vector_lines(vector_scores, ordered, settings, plots["vectors"])
        + _cohort_lines(join_scores, cohort_priors, joined, join_shots, plots["cohorts"])
        + dropout_lines
        + covariance_lines
        + [
            f"Whole report: {time.perf_counter() - started:.0f} s in this run (a stage read "
            "back from an earlier run costs nothing here).",
            "",
        ]
    )


def noise_multiplier_for(epsilon: float, delta: float, people: int) -> float:
    """The smallest noise multiplier (to 0.1 %) whose one round over `people` devices spends at
    most `epsilon` by Flower's RDP accountant, as the ServerApp counts it."""
    low, high = 0.05, 100.0
    for _ in range(60):
        middle = math.sqrt(low * high)
        budget = PrivacyBudget(middle, delta)
        if budget.spend(people, people) > epsilon:
            low = middle
        else:
            high = middle
        if high / low < 1.001:
            break
    return high


def _clipping_norm(fits: torch.Tensor) -> float:
    """The 90th percentile of the population's shared-vector norms: a device above it is
    scaled down (DP's clipping), most are not."""
    encoding = StatisticsEncoding()
    norms = [
        float(
            np.linalg.norm(
                np.concatenate([a.ravel() for a in encode_statistics(f.numpy(), encoding)])
            )
        )
        for f in fits
    ]
    return float(np.percentile(norms, 90))


def _prior(run: FederatedRun, entry: dict[str, object], trust: Path) -> CoefficientPrior | None:
    published = entry.get("published")
    if not isinstance(published, str):
        return None
    return published_prior(run.releases, published, trust)


def _paper_rank(source: str) -> int:
    return PAPER_ORDER.index(source) if source in PAPER_ORDER else len(PAPER_ORDER)


def _dropouts(
    release: Path,
    start: str,
    key: Path,
    trust: Path,
    population: Population,
    runs: Path,
    settings: ReportSettings,
) -> list[str]:
    from tastevec.simulations.federation.dropout_rounds import dropout_section

    releases = run_folder(release, start, runs / "dropouts")
    return dropout_section(releases, population.homes, settings.dropout_people, start, key, trust)


def _covariance(
    fits: torch.Tensor,
    development: Sequence[Person],
    table: ImageTable,
    plan: CoefficientPlan,
    settings: ReportSettings,
) -> list[str]:
    from tastevec.simulations.calibrations.prior_covariance import covariance_section

    return covariance_section(
        fits, development, table, plan, draws=settings.draws, seed=settings.seed
    )


def _header(
    world: Path, start: str, settings: ReportSettings, people: int, final: int, size: int
) -> list[str]:
    return [
        "# Federation report: population priors over SecAgg+, with and without DP",
        "",
        "**The ratings are simulated** (the photo world: defined rater models over real "
        "photos; see its world card), not human.",
        "",
        f"World `{world.name}`, release `{start}` ({size} px). Population: {people} training "
        "people of the personal databases (never a test person), each a device with its own "
        "home, ratings and `share on`, running the product's ServerApp and ClientApp in "
        "Flower's simulation engine (Ray, in-process). Evaluation: the world's **final** test "
        f"people ({final}; FLICKR-AES-, PARA- and REAL-CUR-like), **evaluated once for this "
        "report**; nothing was chosen on them. The clipping norm, the fit's constants, the "
        "prior's weight and the covariance comparison use training or development people "
        f"only. Each condition is fitted on the same {settings.draws} random supports per "
        "person and shots, by the device's fast fit, and scored with the real merged model on "
        "the person's other images; gains are per person, with 95 % bootstrap intervals over "
        "people.",
        "",
        *machine_table(describe_machine()),
        "",
    ]


def _federation_lines(
    main: FederatedRun,
    rows: list[str],
    settings: ReportSettings,
    people: int,
    shared: SharedValues,
) -> list[str]:
    peaks = main.client_peaks_mib
    errors = [float(r.split("|")[4]) for r in rows if r.split("|")[4].strip() != "—"]
    errors += [float(r.split("|")[5]) for r in rows if r.split("|")[5].strip() != "—"]
    largest = max(errors) if errors else math.nan
    time_ok = people >= 200 and settings.rounds >= 3 and main.seconds < TIME_TARGET
    memory = (
        f"{len(peaks)} Ray worker processes ran the virtual clients (each runs one client "
        f"at a time, {people} clients in turn); peak resident memory per worker: median "
        f"{statistics.median(peaks):.0f} MiB, largest {max(peaks):.0f} MiB. Each fit loads "
        "the person's installed release from their home (memory-mapped safetensors, read "
        "only) and lets it go when the message ends: no client keeps a model between "
        "rounds."
        if peaks
        else "No Ray worker process was seen (memory not measured)."
    )
    return [
        f"## {people} people x {settings.rounds} rounds",
        "",
        f"Wall time of the simulation, every device's fit included: **{main.seconds:.0f} s** "
        f"({main.seconds / 60:.1f} min; target under 15 min for 200 people x 3 rounds: "
        f"{'met' if time_ok else 'NOT met'}). {_secagg_words(settings, people)} {memory}",
        "",
        f"Before the runs, the {shared.photos} distinct photos the population rated were run "
        f"once ({shared.seconds:.0f} s, simulations/federation/shared_image_values.py) and each "
        f"home was given the values of its own {shared.ratings / people:.0f} ratings, exactly "
        f"what its device computes for itself ({shared.ratings} photo runs in all; the photo "
        "world's population photos have about ten raters each), so the rounds' time is the fits "
        "and SecAgg+, not the same photo run ten times over.",
        "",
        "Each round's published prior against the clear-text prior of the same fits (each "
        "home's saved profile for the round's release; the experiment's view, the server never "
        "sees these):",
        "",
        "| round | people (server) | people (clear) | max error of the mean | max error of "
        "the variance | outcome |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Target: SecAgg+ max abs error <= {SECAGG_TARGET:g}: "
        f"{'met' if largest <= SECAGG_TARGET else 'NOT met'} (largest {largest:.2e}).",
        "",
    ]


def _secagg_words(settings: ReportSettings, people: int) -> str:
    config = settings.secagg(people)
    if not config:
        return "SecAgg+ shares each device's keys with every other device (threshold: half)."
    return (
        f"SecAgg+ shares each device's keys with {settings.num_shares - 1} others, any "
        f"{settings.threshold} of whom reconstruct them (Flower's integer num-shares and "
        "reconstruction-threshold; all-to-all sharing would cost O(n^2))."
    )


def _shots_lines(
    scores: PersonScores,
    conditions: list[str],
    settings: ReportSettings,
    dp: dict[float, tuple[float, float, CoefficientPrior | None]],
    clip: float,
    plot: Path,
) -> list[str]:
    header = "| prior | " + " | ".join(f"{s} shots" for s in settings.shots) + " |"
    lines = [
        "## SROCC against shots (final test people)",
        "",
        header,
        "|---|" + "---|" * len(settings.shots),
    ]
    for condition in conditions:
        cells = [
            f"{scores.mean(condition, s):.3f}" if (condition, s) in scores.srocc else "—"
            for s in settings.shots
        ]
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    lines += ["", "Gain over no prior, per person (mean and 95 % interval over people):", ""]
    lines += ["| prior | " + " | ".join(f"{s} shots" for s in settings.shots) + " |"]
    lines += ["|---|" + "---|" * len(settings.shots)]
    for condition in conditions[1:]:
        cells = []
        for s in settings.shots:
            if (condition, s) not in scores.srocc:
                cells.append("—")
                continue
            gain, low, high = scores.gain(condition, NO_PRIOR, s)
            cells.append(f"{gain:+.3f} [{low:+.3f}, {high:+.3f}]")
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The federated prior's gain by group (the population is FLICKR-AES- and PARA-like "
        "raters of the training domain; the REAL-CUR-like album owners rate held-out photos):",
        "",
        "| group | people | " + " | ".join(f"{s} shots" for s in settings.shots) + " |",
        "|---|---|" + "---|" * len(settings.shots),
    ]
    for group, count in scores.groups().items():
        cells = []
        for s in settings.shots:
            if (FEDERATED, s) not in scores.srocc:
                cells.append("—")
                continue
            gain, low, high = scores.gain(FEDERATED, NO_PRIOR, s, group)
            interval = f"[{low:+.3f}, {high:+.3f}]" if count >= 2 else "(one person)"
            cells.append(f"{gain:+.3f} {interval}")
        lines.append(f"| {group} | {count} | " + " | ".join(cells) + " |")
    verdicts = []
    for s in (5, 10):
        if (FEDERATED, s) in scores.srocc:
            gain, low, _ = scores.gain(FEDERATED, NO_PRIOR, s)
            met = gain >= LIFT_TARGET and low > 0
            verdicts.append(
                f"{s} shots {gain:+.3f} (interval from {low:+.3f}): {'met' if met else 'NOT met'}"
            )
    lines += [
        "",
        f"Target: the federated prior lifts mean SROCC by >= {LIFT_TARGET} over no prior, "
        f"interval above zero: {'; '.join(verdicts)}.",
        "",
        "DP runs: one round each over the whole population; each device clips its shared "
        f"vector to L2 norm {clip:.3f} (the 90th percentile of the population's own norms) and "
        "adds its share of Gaussian noise before SecAgg+; epsilon as the ServerApp's RDP "
        "accountant counts it (no sampling amplification):",
        "",
        "| target epsilon | noise multiplier | epsilon spent | people |",
        "|---|---|---|---|",
    ]
    for epsilon, (multiplier, spent, prior) in dp.items():
        people = "—" if prior is None else str(prior.people)
        lines.append(f"| {epsilon:g} | {multiplier:.3f} | {spent:.2f} | {people} |")
    return [*lines, "", f"![SROCC against shots]({plot.name})", ""]


def _vector_lines(
    scores: PersonScores, ordered: Sequence[TaskVector], settings: ReportSettings, plot: Path
) -> list[str]:
    sources = [v.source for v in ordered]
    lines = [
        "## SROCC against the number of task vectors (final test people, no prior)",
        "",
        "The release cut to its first k task vectors in the paper's order "
        f"({', '.join(sources)}), each k with its own image values (expansion point 1/k).",
        "",
        "| task vectors | " + " | ".join(f"{s} shots" for s in settings.vector_shots) + " |",
        "|---|" + "---|" * len(settings.vector_shots),
    ]
    for k in range(1, len(sources) + 1):
        cells = [
            f"{scores.mean(str(k), s):.3f}" if (str(k), s) in scores.srocc else "—"
            for s in settings.vector_shots
        ]
        lines.append(f"| {k} (+{sources[k - 1]}) | " + " | ".join(cells) + " |")
    last = str(len(sources))
    for s in settings.vector_shots:
        if ("1", s) in scores.srocc and (last, s) in scores.srocc:
            gain, low, high = scores.gain(last, "1", s)
            lines += [
                "",
                f"{len(sources)} against 1 task vector at {s} shots: {gain:+.3f} "
                f"[{low:+.3f}, {high:+.3f}].",
            ]
    return [*lines, "", f"![SROCC against task vectors]({plot.name})", ""]


def _cohort_lines(
    scores: PersonScores,
    priors: dict[int, CoefficientPrior | None],
    joined: dict[str, CoefficientPrior | None],
    shots: Sequence[int],
    plot: Path,
) -> list[str]:
    largest = max(priors)
    reference = priors[largest]
    lines = [
        "## The prior as people join (final test people)",
        "",
        f"Priors from one round over the first {', '.join(str(n) for n in sorted(priors)[:-1])} "
        f"and all {largest} people (each device fitted without a prior), against the prior "
        "of all:",
        "",
        "| prior | people counted | max abs difference of the mean from all | "
        + " | ".join(f"SROCC {s} shots | gain over no prior {s}" for s in shots)
        + " |",
        "|---|---|---|" + "---|---|" * len(shots),
    ]
    for (name, prior), _count in zip(joined.items(), sorted(priors), strict=True):
        difference = (
            "—"
            if prior is None or reference is None
            else f"{float((prior.mean - reference.mean).abs().max()):.3f}"
        )
        cells = []
        for s in shots:
            if (name, s) not in scores.srocc:
                cells += ["—", "—"]
                continue
            gain, low, high = scores.gain(name, NO_PRIOR, s)
            cells += [f"{scores.mean(name, s):.3f}", f"{gain:+.3f} [{low:+.3f}, {high:+.3f}]"]
        people = "—" if prior is None else str(prior.people)
        lines.append(f"| {name} | {people} | {difference} | " + " | ".join(cells) + " |")
    return [*lines, "", f"![SROCC with priors of growing cohorts]({plot.name})", ""]
