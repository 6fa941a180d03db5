"""Does the population prior need a covariance, or are the squares devices send today enough?
Measured on development people only.

Today the prior is each coefficient's mean and variance (common/coefficient_prior.py), and the
fast fit pulls toward its centre with a diagonal precision. This fits each development
person's support three ways, all with the same centre (the device's blend of the paper's
initialisation and the prior's mean) and the same fit (fast_fit.penalised_fit, the device's
own, given a full precision matrix where the prior has one):

- diagonal: the prior as the device reads it (fast_fit.fit_values with the population prior);
- full: the population's sample correlation shrunk toward the identity (Schäfer & Strimmer's
  analytic intensity, at least `MIN_SHRINKAGE`), scaled back by today's variances, inverted;
- rank r: the top r eigenpairs of the sample correlation plus a diagonal remainder that keeps
  each coefficient's variance as today's (a factor model), inverted.

Each precision is made relative as the device does (divided by the mean of its diagonal), so
the fit's cross-validated alpha means the same for all. Below `FitConfig.step_from_ratings`
the device steps at a fixed pull (`FitConfig.prior_weight`); here every fit may step with
cross-validation choosing alpha or the centre, so that only the precision differs. Fits
are scored on the person's other images with the linearised model (the table's values at the
expansion point), not the real merged model.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from tastevec.client.fast_fit import fit_values, penalised_fit
from tastevec.client.linearisation import group_jacobian
from tastevec.common.coefficient_prior import CoefficientSums, population_prior
from tastevec.common.coefficients import CoefficientPlan
from tastevec.common.metrics import srocc
from tastevec.simulations.people.people_split import people_set
from tastevec.simulations.people.personalize_people import (
    ImageTable,
    Person,
    SupportDraw,
    bench_fit_config,
    safe_metric,
    support_draws,
)
from tastevec.simulations.tools.paired_bootstrap import mean_interval

RANKS = (1, 2, 4)
MIN_SHRINKAGE = 0.01  # the full correlation is at least this much identity: it stays invertible
MIN_REMAINDER = 0.01  # each coefficient keeps this much of its variance outside the factors
BYTES_PER_VALUE = 4  # float32 on the wire; SecAgg+ sums values quantized into a 2**32 ring
CENTRE = "centre"
DIAGONAL = "diagonal"
FULL = "full"


def rank_name(rank: int) -> str:
    return f"rank {rank}"


@dataclass(frozen=True, slots=True)
class PriorPrecisions:
    """The population's prior beyond today's: its mean [P] and each option's relative
    precision [P, P], P = groups * K (the diagonal is the device's own CoefficientPrior)."""

    mean: np.ndarray
    precisions: dict[str, np.ndarray]
    shrinkage: float  # the full correlation's intensity toward the identity
    people: int


def relative_precision(covariance: np.ndarray) -> np.ndarray:
    """The inverse of `covariance`, divided by the mean of its diagonal (as the device divides
    its per-coefficient precision by their mean)."""
    precision = np.linalg.inv(covariance)
    precision = (precision + precision.T) / 2
    return precision / float(np.mean(np.diag(precision)))


def correlation_shrinkage(standardised: np.ndarray) -> float:
    """Schäfer & Strimmer's (2005, target D) analytic intensity toward the identity for the
    sample correlation of `standardised` rows [n, P] (centred, unit sample variance)."""
    n = len(standardised)
    products = standardised[:, :, None] * standardised[:, None, :]
    mean_product = products.mean(0)
    correlation = n / (n - 1) * mean_product
    spread = n / (n - 1) ** 3 * ((products - mean_product) ** 2).sum(0)
    off = ~np.eye(standardised.shape[1], dtype=bool)
    denominator = float((correlation[off] ** 2).sum())
    if denominator == 0:
        return 1.0
    return float(np.clip(spread[off].sum() / denominator, MIN_SHRINKAGE, 1.0))


def prior_precisions(
    fits: torch.Tensor, plan: CoefficientPlan, ranks: Sequence[int] = RANKS
) -> PriorPrecisions:
    """Every option's prior from the population's `fits` [people, groups, K]; ranks of
    P or more (or of more than people - 1) are left out."""
    prior = population_prior(CoefficientSums.of(plan.layout, fits))
    variance = prior.variance.reshape(-1).double().numpy()
    scale = np.sqrt(variance)
    values = fits.reshape(len(fits), -1).double().numpy()
    centred = values - values.mean(0)
    spread = centred.std(0, ddof=1)
    spread[spread == 0] = 1.0  # a coefficient nobody moves: no correlation with anything
    standardised = centred / spread
    correlation = standardised.T @ standardised / (len(values) - 1)
    np.fill_diagonal(correlation, 1.0)
    shrinkage = correlation_shrinkage(standardised)
    size = len(variance)
    shrunk = (1 - shrinkage) * correlation + shrinkage * np.eye(size)
    precisions = {FULL: relative_precision(scale[:, None] * shrunk * scale[None, :])}
    eigenvalues, eigenvectors = np.linalg.eigh(correlation)
    order = np.argsort(eigenvalues)[::-1]
    for rank in ranks:
        if rank >= size or rank > len(values) - 1:
            continue
        top = order[:rank]
        factors = eigenvectors[:, top] * np.sqrt(np.clip(eigenvalues[top], 0, None))
        common = factors @ factors.T
        remainder = np.clip(1.0 - np.diag(common), MIN_REMAINDER, None)
        low_rank = common + np.diag(remainder)
        precisions[rank_name(rank)] = relative_precision(scale[:, None] * low_rank * scale[None, :])
    return PriorPrecisions(
        prior.mean.reshape(-1).double().numpy(), precisions, shrinkage, len(values)
    )


def linearised_scores(
    table: ImageTable, rows: np.ndarray, coefficients: torch.Tensor, plan: CoefficientPlan
) -> np.ndarray:
    """The linearised model's scores of table `rows` at `coefficients` [groups, K]."""
    values = [table.values[i] for i in rows]
    k = values[0].single_scores.shape[0]
    grouped = group_jacobian(np.stack([v.jacobian for v in values]), plan).astype(np.float64)
    shift = coefficients.double().numpy() - 1.0 / k
    base = np.array([v.score for v in values], np.float64)
    return base + (grouped * shift[None]).sum(axis=(1, 2))


@dataclass
class CovarianceResults:
    """Per number of shots, option and person: that person's SROCC of each draw."""

    srocc: dict[tuple[int, str, int], list[float]] = dataclasses.field(default_factory=dict)

    def add(self, shots: int, option: str, person: int, value: float) -> None:
        self.srocc.setdefault((shots, option, person), []).append(value)

    def per_person(self, shots: int, option: str) -> dict[int, float]:
        return {
            person: statistics.mean(values)
            for (count, name, person), values in self.srocc.items()
            if count == shots and name == option
        }


def measure_covariance(
    fits: torch.Tensor,
    people: Sequence[Person],
    table: ImageTable,
    plan: CoefficientPlan,
    shots: Sequence[int],
    draws: int,
    seed: int,
) -> tuple[PriorPrecisions, CovarianceResults]:
    _check_inputs(fits, people, table, plan)
    priors = prior_precisions(fits, plan)
    prior = population_prior(CoefficientSums.of(plan.layout, fits))
    config = dataclasses.replace(bench_fit_config(), step_from_ratings=0)
    results = CovarianceResults()
    for draw in support_draws(people, table, shots, draws, np.random.default_rng(seed)):
        values = [table.values[i] for i in draw.support]
        score = functools.partial(_score, results, table, plan, draw)
        diagonal = fit_values(values, draw.targets, plan, prior=prior, config=config)
        score(DIAGONAL, diagonal.coefficients)
        centre = fit_values(
            values,
            draw.targets,
            plan,
            prior=prior,
            config=dataclasses.replace(
                config, step_from_ratings=len(values) + 1, prior_weight=math.inf
            ),
        )
        score(CENTRE, centre.coefficients)
        for option, precision in priors.precisions.items():
            solution = penalised_fit(
                values,
                draw.targets,
                plan,
                prior_mean=priors.mean,
                precision=precision,
                config=config,
            )
            score(option, solution.coefficients)
    return priors, results


def _score(
    results: CovarianceResults,
    table: ImageTable,
    plan: CoefficientPlan,
    draw: SupportDraw,
    option: str,
    coefficients: torch.Tensor,
) -> None:
    pred = linearised_scores(table, draw.held, coefficients, plan)
    results.add(draw.count, option, draw.index, safe_metric(srocc, pred, draw.truth))


def covariance_section(
    fits: torch.Tensor,
    people: Sequence[Person],
    table: ImageTable,
    plan: CoefficientPlan,
    shots: Sequence[int] = (5, 10, 20),
    draws: int = 3,
    seed: int = 0,
) -> list[str]:
    """The report's section: `fits` [population people, groups, K] are the population's own
    block-layout coefficients (the prior is made of them), `people` development test people
    and `table` their images' values."""
    priors, results = measure_covariance(fits, people, table, plan, shots, draws, seed)
    options = list(priors.precisions)
    size = len(priors.mean)
    lines = [
        "",
        "## Does the prior need a covariance? (development people)",
        "",
        f"{len(people)} development test people (no final person), ratings simulated; the "
        f"prior is made of {priors.people} population people's block-layout fits, "
        f"P = {plan.num_groups} groups x {size // plan.num_groups} task vectors = {size} "
        "coefficients. Every fit has the device's centre and the device's fit "
        "(fast_fit.penalised_fit); only the pull's precision differs: diagonal (today's "
        "prior), full (the sample correlation shrunk toward the identity by "
        f"{priors.shrinkage:.3f}, Schäfer-Strimmer, scaled by today's variances), rank r "
        "(r eigenpairs of the sample correlation plus a diagonal remainder keeping today's "
        "variances). Every fit may step, at every number of ratings (cross-validation "
        "chooses alpha or the centre; the 'centre' column is the centre itself). Scored on "
        "each person's other images with the linearised "
        "model (SROCC, mean over people of their mean over draws).",
        "",
        "| ratings | people | centre | diagonal | " + " | ".join(options) + " |",
        "|---|---|---|---|" + "---|" * len(options),
    ]
    gains: dict[tuple[int, str], tuple[float, float, float]] = {}
    counts = sorted({count for count, _, _ in results.srocc})
    for count in counts:
        diagonal = results.per_person(count, DIAGONAL)
        means = {
            o: statistics.mean(results.per_person(count, o).values())
            for o in (CENTRE, DIAGONAL, *options)
        }
        cells = " | ".join(f"{means[o]:.3f}" for o in (CENTRE, DIAGONAL, *options))
        lines.append(f"| {count} | {len(diagonal)} | {cells} |")
        for option in options:
            other = results.per_person(count, option)
            differences = [other[p] - diagonal[p] for p in diagonal]
            if len(differences) >= 2:  # an interval over people needs two of them
                low, high = mean_interval(differences, seed=seed)
                gains[(count, option)] = (statistics.mean(differences), low, high)
    lines += [
        "",
        "Paired gain over the diagonal prior (same people, draws and centre), with the 95% "
        "bootstrap interval over people (simulations/tools/paired_bootstrap.py):",
        "",
        "| ratings | " + " | ".join(f"{o} - diagonal" for o in options) + " |",
        "|---|" + "---|" * len(options),
    ]
    for count in counts:
        cells = " | ".join(
            "{:+.3f} [{:+.3f}, {:+.3f}]".format(*gains[(count, o)])
            if (count, o) in gains
            else "n/a (one person)"
            for o in options
        )
        lines.append(f"| {count} | {cells} |")
    lines += _bytes_lines(size, [r for r in RANKS if rank_name(r) in options])
    lines += ["", conclusion(gains, options, size, len(people))]
    return lines


def device_values(option: str, size: int) -> int:
    """What one device sends for `option` in one SecAgg+ sum: its coefficients and their
    squares (today), or its coefficients and the upper triangle of their outer product."""
    if option == DIAGONAL:
        return 2 * size
    return size + size * (size + 1) // 2


def _bytes_lines(size: int, ranks: Sequence[int]) -> list[str]:
    today, full = device_values(DIAGONAL, size), device_values(FULL, size)
    lines = [
        "",
        f"What each device sends (P = {size}, {BYTES_PER_VALUE} bytes a value). SecAgg+ only "
        "sums what devices send, so a prior must be a function of sums: the diagonal needs "
        "the coefficients and their squares; the full covariance the coefficients and their "
        "outer products (P (P + 1) / 2 distinct values). A low-rank covariance is not a sum "
        "of per-device values: either the devices send the full outer products and the "
        "server keeps the top eigenpairs (the bytes of the full covariance), or the server "
        "runs subspace iteration, one SecAgg+ round per step, each device sending "
        "x (x' Q) for the published basis Q [P, r] (r P values a round, T rounds, and "
        "devices that stay for all of them).",
        "",
        "| option | values a device sends | bytes | rounds |",
        "|---|---|---|---|",
        f"| diagonal (today: sums and squares) | {today} | {today * BYTES_PER_VALUE} | 1 |",
        f"| full covariance (sums and outer products) | {full} | {full * BYTES_PER_VALUE} | 1 |",
    ]
    for rank in ranks:
        lines.append(
            f"| rank {rank}, from the full sum (server eigendecomposition) | {full} | "
            f"{full * BYTES_PER_VALUE} | 1 |"
        )
        lines.append(
            f"| rank {rank}, by subspace iteration | {today} + T x {rank * size} | "
            f"{today * BYTES_PER_VALUE} + T x {rank * size * BYTES_PER_VALUE} | 1 + T |"
        )
    return lines


def conclusion(
    gains: dict[tuple[int, str], tuple[float, float, float]],
    options: Sequence[str],
    size: int,
    people: int,
) -> str:
    """One sentence from `gains` ((ratings, option) -> mean gain over the diagonal and its
    interval): the option that beats the diagonal clearly (interval above 0), if any."""
    counts = sorted({count for count, _ in gains})
    wins = {o: [c for c in counts if gains[(c, o)][1] > 0] for o in options}
    losses = {o: [c for c in counts if gains[(c, o)][2] < 0] for o in options}
    lost = "; ".join(
        f"{o} is clearly worse at {', '.join(map(str, losses[o]))} ratings"
        for o in options
        if losses[o]
    )
    lost = f" ({lost})" if lost else ""
    winners = [o for o in options if wins[o]]
    if not winners:
        return (
            "Conclusion (computed from the tables): no covariance option beats today's "
            f"diagonal prior clearly at any number of ratings on these {people} development "
            f"people{lost}, so this measurement gives no reason for devices to send more than "
            "their squares."
        )
    best = max(winners, key=lambda o: statistics.mean(gains[(c, o)][0] for c in wins[o]))
    gain = statistics.mean(gains[(c, best)][0] for c in wins[best])
    cost = device_values(FULL, size) / device_values(DIAGONAL, size)
    return (
        f"Conclusion (computed from the tables): {best} beats today's diagonal prior clearly "
        f"at {', '.join(map(str, wins[best]))} ratings on these {people} development people "
        f"(mean gain {gain:+.3f} there){lost}, for {cost:.1f}x the values a device sends in "
        "one round (from the full sum)."
    )


def _check_inputs(
    fits: torch.Tensor, people: Sequence[Person], table: ImageTable, plan: CoefficientPlan
) -> None:
    final = [f"{p.group}/{p.name}" for p in people if people_set(p) != "development"]
    if final:
        raise ValueError(f"covariance_section: {final[0]} is a final test person, not development")
    k = table.values[0].single_scores.shape[0] if table.values else 0
    if fits.ndim != 3 or tuple(fits.shape[1:]) != (plan.num_groups, k):
        raise ValueError(
            f"covariance_section: fits {tuple(fits.shape)} are not [people, "
            f"{plan.num_groups} groups, {k} task vectors]"
        )
    if len(fits) < 3:
        raise ValueError(
            f"covariance_section: a covariance needs 3 population fits or more, not {len(fits)}"
        )
