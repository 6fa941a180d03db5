"""`tastevec-sim bench federation`: the Flower apps over a population of simulated people.

Each simulated person of the photo world's training groups gets a home of their own (the
release installed from a folder, their ratings imported, sharing on) and is a virtual
SuperNode of an in-process Flower simulation (Ray) that runs the product's ServerApp and
ClientApp. Afterwards the run's published priors are set against the clear-text statistics
of the very fits the devices made (each home's saved profile), round by round: SecAgg+'s
error. The ratings are simulated (the photo world), and the report says so.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from tastevec.common.errors import TastevecError
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key
from tastevec.simulations.federation.clear_text_priors import LAYOUT, secagg_against_clear
from tastevec.simulations.federation.federated_run import run_federation
from tastevec.simulations.federation.population_homes import (
    POPULATION_GROUPS,
    make_homes,
    run_folder,
)
from tastevec.simulations.people.personalize_people import load_people


def run_federation_benchmark(
    world: Path, release: Path, trust: Path, key: Path, scratch: Path, people: int, rounds: int
) -> str:
    world, release, trust, key, scratch = (
        p.resolve() for p in (world, release, trust, key, scratch)
    )
    manifest = verify_release(release, load_public_key(trust))
    persons = load_people(world, POPULATION_GROUPS, None)[:people]
    if len(persons) < 3:
        raise TastevecError(f"the world has {len(persons)} population people; a round needs 3")
    releases = run_folder(release, manifest.release_id, scratch / "releases")
    population = make_homes(persons, release, trust, scratch)
    run = run_federation(
        population, releases, manifest.release_id, key, trust, config={"rounds": rounds}
    )
    lines = secagg_against_clear(run, population, trust, manifest.release_id)
    report = _report(lines, len(persons), rounds, run.seconds)
    return report.replace("{where}", f"World `{world}`, release `{manifest.release_id}`. ")


def _report(rows: list[str], people: int, rounds: int, seconds: float) -> str:
    errors = [float(r.split("|")[4]) for r in rows if r.split("|")[4].strip() not in ("—",)]
    target = "met" if errors and max(errors) <= 1e-4 else "NOT met"
    return "\n".join(
        [
            "# Federation benchmark: SecAgg+ priors against the clear text",
            "",
            "{where}"
            f"{people} simulated people of the photo world's population groups (simulated "
            "ratings, not human ones), each a virtual SuperNode with its own home, all "
            f"sharing; {rounds} round(s) of the product's ServerApp and ClientApp in an "
            f"in-process Flower simulation (Ray), layout `{LAYOUT.value}`. Machine: "
            f"{platform.platform()}, {os.cpu_count()} CPUs. Wall time of the simulation "
            f"(fits included): {seconds:.1f} s.",
            "",
            "The clear-text prior of a round is computed from the same fits the devices made "
            "(each home's saved profile for the round's release); the error is the largest "
            "absolute difference over coefficients.",
            "",
            "| round | people (server) | people (clear) | max error of the mean | max error of "
            "the variance | outcome |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            f"Target: SecAgg+ max abs error <= 1e-4: {target} "
            f"(largest {max(errors) if errors else float('nan'):.2e}).",
            "",
        ]
    )
