"""How well people are personalized from a few ratings, with one prior or another, and with a
release's first k task vectors: the device's fast fit (`personal_fit.fit_personal_model`,
through `personalize_people.personal_scores`) on random supports, scored with the real merged
model on each person's other images.

Every condition sees the same supports (one draw of each person's images per shots and draw,
made from the seed before any condition runs), so conditions compare like with like; each
person's SROCC is the mean over their draws, and a gain of one condition over another is
judged per person, with a bootstrap interval over people.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tastevec.client.fit_config import FitConfig
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.metrics import srocc
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector
from tastevec.simulations.people.personalize_people import (
    ImageTable,
    Person,
    build_table,
    personal_scores,
    safe_metric,
)
from tastevec.simulations.tools.paired_bootstrap import mean_interval

LAYOUT = CoefficientLayout.BLOCK


@dataclass(frozen=True, slots=True)
class PersonScores:
    """Per condition and shots: each person's mean SROCC over draws, in the people's order."""

    people: tuple[str, ...]
    srocc: dict[tuple[str, int], tuple[float, ...]]

    def mean(self, condition: str, shots: int) -> float:
        return statistics.mean(self.srocc[condition, shots])

    def gain(
        self, better: str, than: str, shots: int, group: str | None = None
    ) -> tuple[float, float, float]:
        """Mean per-person gain of `better` over `than`, and its 95 % interval over people
        (with `group`, over that database's people only; one person has no interval: NaN)."""
        gains = np.subtract(self.srocc[better, shots], self.srocc[than, shots])
        if group is not None:
            gains = gains[[group_of(name) == group for name in self.people]]
        low, high = mean_interval(gains) if len(gains) >= 2 else (math.nan, math.nan)
        return float(gains.mean()), low, high

    def measured(self, condition: str, shots: Sequence[int]) -> list[int]:
        """The shots `condition` was measured at for every person (each keeps 5 held out)."""
        return [s for s in shots if (condition, s) in self.srocc]

    def gain_rows(
        self, baseline: str, conditions: Sequence[str], shots: Sequence[int]
    ) -> list[str]:
        """Markdown rows: `baseline`'s mean SROCC, then each condition's, with in brackets its
        per-person gain over the baseline and the gain's 95 % interval over people."""
        rows = [
            f"| {baseline} | " + " | ".join(f"{self.mean(baseline, s):.3f}" for s in shots) + " |"
        ]
        for name in conditions:
            cells = []
            for s in shots:
                gain, low, high = self.gain(name, baseline, s)
                cells.append(f"{self.mean(name, s):.3f} ({gain:+.3f} [{low:+.3f}, {high:+.3f}])")
            rows.append(f"| {name} | " + " | ".join(cells) + " |")
        return rows

    def groups(self) -> dict[str, int]:
        """Each database the people come from, and how many of them."""
        return dict(Counter(group_of(name) for name in self.people))


def group_of(name: str) -> str:
    """The database of a person named "group/name", as `supports` and `evaluate` name them."""
    return name.split("/")[0]


def supports(
    people: Sequence[Person], table: ImageTable, shots: Sequence[int], draws: int, seed: int
) -> dict[tuple[str, int, int], np.ndarray]:
    """(person, shots, draw) -> the indices (into the person's rows) of the support; the rest
    is held out. Shots that leave fewer than 5 held-out images are skipped."""
    rng = np.random.default_rng(seed)
    chosen = {}
    for person in people:
        rows = len(table.rows(person))
        for count in shots:
            for draw in range(draws):
                order = rng.permutation(rows)
                if count < rows - 5:
                    chosen[f"{person.group}/{person.name}", count, draw] = order
    return chosen


def evaluate(
    people: Sequence[Person],
    table: ImageTable,
    composed: ComposedModel,
    plan: CoefficientPlan,
    priors: Mapping[str, CoefficientPrior | None],
    shots: Sequence[int],
    draws: int,
    seed: int,
    config: FitConfig | None = None,
) -> PersonScores:
    """Each condition (a prior, or None for none) fitted on the same supports, under
    `config` (default the benchmarks' `bench_fit_config()`)."""
    chosen = supports(people, table, shots, draws, seed)
    names = tuple(f"{p.group}/{p.name}" for p in people)
    result: dict[tuple[str, int], tuple[float, ...]] = {}
    for condition, prior in priors.items():
        for count in shots:
            means = []
            for person, name in zip(people, names, strict=True):
                rows = table.rows(person)
                values = []
                for draw in range(draws):
                    order = chosen.get((name, count, draw))
                    if order is None:
                        continue
                    support, held = order[:count], order[count:]
                    scored = personal_scores(
                        composed,
                        [table.values[i] for i in rows[support]],
                        person.targets[support],
                        plan,
                        table.pixels_of(rows[support]),
                        table.pixels_of(rows[held]),
                        prior,
                        config,
                    )
                    values.append(safe_metric(srocc, scored.held, person.targets[held]))
                if values:
                    means.append(statistics.mean(values))
            if len(means) == len(people):
                result[condition, count] = tuple(means)
    return PersonScores(names, result)


def with_first_vectors(
    people: Sequence[Person],
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    k: int,
    shots: Sequence[int],
    draws: int,
    seed: int,
) -> PersonScores:
    """Condition `k`: the release cut to its first k task vectors, fitted without a prior,
    with image values of its own (its expansion point is 1/k)."""
    return with_vectors(people, base, vectors[:k], str(k), shots, draws, seed)


def with_vectors(
    people: Sequence[Person],
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    condition: str,
    shots: Sequence[int],
    draws: int,
    seed: int,
) -> PersonScores:
    """Condition `condition`: these task vectors (of a release, or some of them), fitted
    without a prior, with image values of their own; the supports are the seed's, so two
    sets of vectors over the same people compare like with like."""
    table = build_table(people, base, vectors, None, None)
    plan = CoefficientPlan.for_tensors(LAYOUT, composed_tensor_names(base.state_dict(), vectors))
    composed = ComposedModel(base, vectors, LAYOUT)
    return evaluate(people, table, composed, plan, {condition: None}, shots, draws, seed)


def merged(parts: Sequence[PersonScores]) -> PersonScores:
    """One PersonScores of several over the same people."""
    if any(p.people != parts[0].people for p in parts):
        raise ValueError("scores of different people cannot be merged")
    return PersonScores(parts[0].people, {k: v for p in parts for k, v in p.srocc.items()})
