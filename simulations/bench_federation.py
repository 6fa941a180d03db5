"""`tastevec-sim bench federation`: the Flower apps over a population of simulated people.

Each simulated person of the photo world's training groups gets a home of their own (the
release installed from a folder, their ratings imported, sharing on) and is a virtual
SuperNode of an in-process Flower simulation (Ray) that runs the product's ServerApp and
ClientApp. Afterwards the run's published priors are set against the clear-text statistics
of the very fits the devices made (each home's saved profile), round by round: SecAgg+'s
error. The ratings are simulated (the photo world), and the report says so.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from flwr.simulation import run_simulation

from tastevec.client.cli import main as client_main
from tastevec.client.flower_client import client_app
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.common.coefficient_prior import CoefficientSums, population_prior
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import TastevecError
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.signing import load_public_key
from tastevec.server.flower_server import ROUNDS_LOG, server_app
from tastevec.simulations.personalize_people import load_people

POPULATION_GROUPS = (("flickr_aes", "train"), ("para", "train"))  # never a test person
LAYOUT = CoefficientLayout.BLOCK


@dataclass(frozen=True, slots=True)
class FederationRun:
    people: int
    rounds: int
    seconds: float
    lines: tuple[str, ...]


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
    releases, homes = scratch / "releases", scratch / "homes"
    if releases.exists() or homes.exists():
        raise TastevecError(f"{scratch} holds an earlier run; give an empty --scratch")
    (releases / manifest.release_id).mkdir(parents=True)
    for part in release.iterdir():  # the starting release, blobs hard-linked where possible
        target = releases / manifest.release_id / part.name
        if part.is_dir():
            target.mkdir()
            for blob in part.iterdir():
                try:
                    os.link(blob, target / blob.name)
                except OSError:
                    target.joinpath(blob.name).write_bytes(blob.read_bytes())
        else:
            target.write_bytes(part.read_bytes())
    for index, person in enumerate(persons):
        home = homes / f"person-{index}"
        ratings = scratch / f"ratings-{index}.csv"
        with ratings.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "score"])
            writer.writerows(
                [str(p), float(t)] for p, t in zip(person.images, person.targets, strict=True)
            )
        args = ["--home", str(home)]
        for command in (
            ["pull", *args, "--from-dir", str(release), "--trust", str(trust)],
            ["rate", *args, "--csv", str(ratings), "--scale", "0-1"],
            ["share", "on", *args],
        ):
            if client_main(command) != 0:
                raise TastevecError(f"setting up person {index} failed: {' '.join(command)}")
    started = time.perf_counter()
    run_simulation(
        server_app=server_app(
            releases=str(releases),
            **{"release-id": manifest.release_id, "key": str(key), "rounds": rounds},
        ),
        client_app=client_app(homes=homes, releases=releases, trust=trust),
        num_supernodes=len(persons),
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )
    seconds = time.perf_counter() - started
    report = _report(releases, homes, trust, manifest.release_id, len(persons), rounds, seconds)
    return report.replace("{where}", f"World `{world}`, release `{manifest.release_id}`. ")


def _report(
    releases: Path, homes: Path, trust: Path, start: str, people: int, rounds: int, seconds: float
) -> str:
    log = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
    rows = []
    fitted_on = start
    for entry in log:
        if entry["published"] is None:
            rows.append(f"| {entry['round']} | {entry['people']} | — | — | — | {entry['why']} |")
            continue
        fits = []
        for index in range(people):
            home = Home(homes / f"person-{index}")
            try:
                fits.append(torch.tensor(load_profile(home.profiles, fitted_on).coefficients))
            except TastevecError:
                continue  # this person did not fit in this round (dropped out)
        clear = population_prior(CoefficientSums.of(LAYOUT, torch.stack(fits)))
        root = releases / entry["published"]
        prior = load_release_prior(root, verify_release(root, load_public_key(trust)), LAYOUT)
        assert prior is not None
        mean_error = float((prior.mean - clear.mean).abs().max())
        variance_error = float((prior.variance - clear.variance).abs().max())
        rows.append(
            f"| {entry['round']} | {entry['people']} | {len(fits)} | {mean_error:.2e} | "
            f"{variance_error:.2e} | published {entry['published']} |"
        )
        fitted_on = entry["published"]
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
