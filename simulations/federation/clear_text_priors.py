"""The experiment's clear-text view of a federated run: the coefficients each simulated
device fitted (its home's saved profile; the server never sees them), and how far a
published prior (formed by SecAgg+ from masked vectors) is from the prior those same fits
make in the clear."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch

from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.common.coefficient_prior import CoefficientPrior, CoefficientSums, population_prior
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import TastevecError
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.signing import load_public_key
from tastevec.simulations.federation.federated_run import FederatedRun
from tastevec.simulations.federation.population_homes import Population

LAYOUT = CoefficientLayout.BLOCK  # the layout the federation runs in


def published_prior(releases: Path, release_id: str, trust: Path) -> CoefficientPrior:
    """The prior of release `release_id` in the run folder `releases`, its signature checked."""
    root = releases / release_id
    prior = load_release_prior(root, verify_release(root, load_public_key(trust)), LAYOUT)
    if prior is None:
        raise TastevecError(f"the published release {root} holds no {LAYOUT.value} prior")
    return prior


def fits_of(homes: Path, people: Iterable[int], release_id: str) -> torch.Tensor:
    """[people, groups, K]: what homes person-i (for each i in `people`) fitted for
    `release_id`; a TastevecError if one did not fit for it."""
    return torch.stack([_fit(homes, i, release_id) for i in people])


def clear_fits(homes: Path, people: int, release_id: str) -> torch.Tensor:
    """[fitted, groups, K]: what each of homes person-0 .. person-(people-1) that fitted for
    `release_id` fitted (one that did not, having dropped out, is left out)."""
    fits = []
    for index in range(people):
        try:
            fits.append(_fit(homes, index, release_id))
        except TastevecError:
            continue
    return torch.stack(fits)


def prior_errors(prior: CoefficientPrior, fits: torch.Tensor) -> tuple[float, float]:
    """The largest absolute differences of `prior`'s mean and variance from the clear-text
    prior of `fits`."""
    clear = population_prior(CoefficientSums.of(LAYOUT, fits))
    return (
        float((prior.mean - clear.mean).abs().max()),
        float((prior.variance - clear.variance).abs().max()),
    )


def secagg_against_clear(
    run: FederatedRun, population: Population, trust: Path, start: str
) -> list[str]:
    """Table rows, one per round: the published prior against the clear-text prior of the very
    fits the devices made in that round (each home's saved profile for the round's release)."""
    rows = []
    fitted_on = start
    for entry in run.rounds:
        if entry["published"] is None:
            rows.append(f"| {entry['round']} | {entry['people']} | — | — | — | {entry['why']} |")
            continue
        fits = clear_fits(population.homes, population.people, fitted_on)
        prior = published_prior(run.releases, entry["published"], trust)
        mean_error, variance_error = prior_errors(prior, fits)
        rows.append(
            f"| {entry['round']} | {entry['people']} | {len(fits)} | {mean_error:.2e} | "
            f"{variance_error:.2e} | published {entry['published']} |"
        )
        fitted_on = entry["published"]
    return rows


def _fit(homes: Path, index: int, release_id: str) -> torch.Tensor:
    profile = load_profile(Home(homes / f"person-{index}").profiles, release_id)
    return torch.tensor(profile.coefficients)
