"""The prior-covariance measurement on a tiny synthetic case: its tables are produced, and a
"full" covariance that is diagonal fits exactly as today's diagonal prior does."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.fast_fit import fit_values, penalised_fit
from tastevec.client.image_cache import ImageValues
from tastevec.common.coefficient_prior import CoefficientSums, population_prior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.simulations.calibrations.prior_covariance import (
    conclusion,
    covariance_section,
    prior_precisions,
    relative_precision,
)
from tastevec.simulations.people.people_split import people_set
from tastevec.simulations.people.personalize_people import ImageTable, Person, bench_fit_config

K = 3
PLAN = CoefficientPlan(CoefficientLayout.BLOCK, ("a", "b", "c", "d"), ("g0", "g1"), (0, 0, 1, 1))


def synthetic_world(
    people: int = 4, images: int = 30, seed: int = 0
) -> tuple[torch.Tensor, list[Person], ImageTable]:
    """Population fits with correlated coefficients, and people whose ratings are the
    linearised model's scores at their own (correlated) coefficients, plus noise."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(PLAN.num_groups * K, 2)) * 0.1
    taste = lambda count: 1.0 / K + rng.normal(size=(count, 2)) @ mixing.T  # noqa: E731
    fits = torch.tensor(taste(12).reshape(12, PLAN.num_groups, K), dtype=torch.float32)
    table = ImageTable()
    chosen: list[Person] = []
    index = 0
    while len(chosen) < people:
        index += 1
        name = f"person-{index}"
        if people_set(Person("synthetic", name, (), np.zeros(0))) != "development":
            continue
        coefficients = taste(1)[0]
        paths, targets = [], []
        for image in range(images):
            values = ImageValues(
                float(rng.normal() * 0.1),
                rng.normal(size=K),
                rng.normal(size=(len(PLAN.tensor_names), K)),
            )
            grouped = np.zeros((PLAN.num_groups, K))
            for tensor, group in enumerate(PLAN.tensor_groups):
                grouped[group] += values.jacobian[tensor]
            score = values.score + float((grouped.ravel() * (coefficients - 1.0 / K)).sum())
            path = Path(f"/synthetic/{name}/{image}.png")
            table.index[path] = len(table.values)
            table.values.append(values)
            paths.append(path)
            targets.append(score + rng.normal() * 0.02)
        chosen.append(Person("synthetic", name, tuple(paths), np.array(targets)))
    return fits, chosen, table


def test_the_section_reports_every_option_per_number_of_ratings() -> None:
    fits, people, table = synthetic_world()
    lines = covariance_section(fits, people, table, PLAN, shots=(5, 10), draws=2)
    text = "\n".join(lines)
    assert "## Does the prior need a covariance? (development people)" in text
    header = next(line for line in lines if line.startswith("| ratings | people |"))
    assert header == "| ratings | people | centre | diagonal | full | rank 1 | rank 2 | rank 4 |"
    for count in (5, 10):
        row = next(line for line in lines if line.startswith(f"| {count} | 4 |"))
        scores = [float(cell) for cell in row.strip("|").split("|")[2:]]
        assert len(scores) == 6 and all(-1 <= s <= 1 for s in scores)
        gain = next(line for line in lines if line.startswith(f"| {count} | ") and "[" in line)
        assert gain.count("[") == 4
    assert "| diagonal (today: sums and squares) | 12 | 48 | 1 |" in text
    assert "| full covariance (sums and outer products) | 27 | 108 | 1 |" in text
    assert lines[-1].startswith("Conclusion (computed from the tables): ")


def test_a_diagonal_full_covariance_fits_as_the_diagonal_prior() -> None:
    fits, people, table = synthetic_world(people=1)
    prior = population_prior(CoefficientSums.of(PLAN.layout, fits))
    variance = prior.variance.reshape(-1).double().numpy()
    precision = relative_precision(np.diag(variance))
    rows = table.rows(people[0])[:20]
    values = [table.values[i] for i in rows]
    targets = people[0].targets[:20]
    config = dataclasses.replace(bench_fit_config(), step_from_ratings=0)
    diagonal = fit_values(values, targets, PLAN, prior=prior, config=config)
    full = penalised_fit(
        values,
        targets,
        PLAN,
        prior_mean=prior.mean.reshape(-1).double().numpy(),
        precision=precision,
        config=config,
    )
    assert np.isfinite(diagonal.alpha) and full.alpha == diagonal.alpha
    torch.testing.assert_close(full.coefficients, diagonal.coefficients, atol=1e-6, rtol=0)


def test_correlated_fits_give_a_full_precision_that_is_not_diagonal() -> None:
    fits, _, _ = synthetic_world(people=1)
    priors = prior_precisions(fits, PLAN)
    full = priors.precisions["full"]
    assert 0.01 <= priors.shrinkage < 1
    assert np.abs(full - np.diag(np.diag(full))).max() > 0.1
    assert set(priors.precisions) == {"full", "rank 1", "rank 2", "rank 4"}
    for precision in priors.precisions.values():
        assert np.allclose(precision, precision.T) and np.linalg.eigvalsh(precision).min() > 0


def test_a_final_test_person_is_refused() -> None:
    fits, people, table = synthetic_world(people=1)
    final = next(
        Person("synthetic", f"final-{i}", people[0].images, people[0].targets)
        for i in range(100)
        if people_set(Person("synthetic", f"final-{i}", (), np.zeros(0))) == "final"
    )
    with pytest.raises(ValueError, match="is a final test person"):
        covariance_section(fits, [final], table, PLAN)


def test_the_conclusion_names_a_clear_winner_only_when_its_interval_is_above_zero() -> None:
    unclear = {(5, "full"): (0.02, -0.01, 0.05), (10, "full"): (-0.03, -0.05, -0.01)}
    sentence = conclusion(unclear, ["full"], 60, 7)
    assert "no covariance option beats" in sentence and "7 development people" in sentence
    assert "(full is clearly worse at 10 ratings)" in sentence
    clear = {**unclear, (5, "rank 2"): (0.04, 0.01, 0.07), (10, "rank 2"): (0.0, -0.02, 0.02)}
    sentence = conclusion(clear, ["full", "rank 2"], 60, 7)
    assert sentence.startswith(
        "Conclusion (computed from the tables): rank 2 beats today's diagonal prior clearly at "
        "5 ratings on these 7 development people (mean gain +0.040 there)"
    )
    assert "for 15.8x the values" in sentence
