"""Simulated people as devices: each gets a home of their own (the release installed from a
folder and verified, their ratings imported, sharing on), as `tastevec-client` makes one, and
a run folder holds the releases a federated run starts from and publishes into.

Used by the federation benchmark and the report, which then drive the product's ServerApp
and ClientApp over these homes (`<homes>/person-<partition-id>`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.cli import main as client_main
from tastevec.common.errors import TastevecError
from tastevec.simulations.people.personalize_people import Person

POPULATION_GROUPS = (("flickr_aes", "train"), ("para", "train"))  # never a test person


@dataclass(frozen=True, slots=True)
class Population:
    homes: Path  # person-0 .. person-(people-1)
    people: int
    persons: tuple[Person, ...]


def make_homes(persons: Sequence[Person], release: Path, trust: Path, scratch: Path) -> Population:
    """A home for each person under `scratch/homes`, sharing on; `scratch` must hold no
    earlier homes."""
    homes = scratch / "homes"
    if homes.exists():
        raise TastevecError(f"{scratch} holds an earlier run's homes; give an empty folder")
    for index, person in enumerate(persons):
        home = homes / f"person-{index}"
        ratings = scratch / "ratings" / f"person-{index}.csv"
        ratings.parent.mkdir(parents=True, exist_ok=True)
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
    return Population(homes, len(persons), tuple(persons))


def run_folder(release: Path, release_id: str, folder: Path) -> Path:
    """A fresh releases folder for one federated run: `folder/<release_id>` holds `release`
    (blobs hard-linked where possible); the run publishes its priors beside it and logs its
    rounds in it."""
    if folder.exists():
        raise TastevecError(f"{folder} exists; a federated run needs a releases folder of its own")
    (folder / release_id).mkdir(parents=True)
    for part in release.iterdir():
        target = folder / release_id / part.name
        if part.is_dir():
            target.mkdir()
            for blob in part.iterdir():
                try:
                    os.link(blob, target / blob.name)
                except OSError:
                    target.joinpath(blob.name).write_bytes(blob.read_bytes())
        else:
            target.write_bytes(part.read_bytes())
    return folder
