"""Simulated people for the federation tests: the small world's test people's ratings as CSV
files; homes with its release installed and a person's ratings each, the first ones sharing;
a releases folder holding the release."""

import csv
import shutil
from pathlib import Path

import pytest

from tastevec.client.cli import main as client_main
from tastevec.common.datasets.catalog import load_people_ratings
from tastevec.common.datasets.records import PersonRatings
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key

PEOPLE = 4
SHARING = (0, 1, 2)  # person 3 keeps sharing off


def world_test_people(world: Path) -> tuple[PersonRatings, ...]:
    """The small world's test people: REAL-CUR-like albums, then PARA-like users."""
    persons = load_people_ratings("real_cur", world / "databases" / "real_cur").split("test")
    return (*persons, *load_people_ratings("para", world / "databases" / "para").split("test"))


def write_ratings_csv(person: PersonRatings, path: Path) -> Path:
    """`person`'s ratings as `tastevec-client rate --csv` reads them (image,score)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "score"])
        for item in person.ratings:
            writer.writerow([item.path, item.raw])
    return path


@pytest.fixture(scope="session")
def ratings_csv(world: Path):  # type: ignore[no-untyped-def]
    """ratings_csv(index, path): the world's test person `index`'s ratings, as a CSV file."""
    persons = world_test_people(world)
    return lambda index, path: write_ratings_csv(persons[index], path)


def make_federation(
    world: Path, release: Path, trust: Path, folder: Path, people: int, sharing: tuple[int, ...]
) -> tuple[Path, Path, str]:
    manifest = verify_release(release, load_public_key(trust))
    releases = folder / "releases"
    shutil.copytree(release, releases / manifest.release_id)
    homes = folder / "homes"
    persons = world_test_people(world)
    for index in range(people):
        home = homes / f"person-{index}"
        ratings = write_ratings_csv(persons[index], folder / f"ratings-{index}.csv")
        args = ["--home", str(home)]
        assert client_main(["pull", *args, "--from-dir", str(release), "--trust", str(trust)]) == 0
        assert client_main(["rate", *args, "--csv", str(ratings), "--scale", "1-5"]) == 0
        if index in sharing:
            assert client_main(["share", "on", *args]) == 0
    return releases, homes, manifest.release_id


@pytest.fixture
def federation(world: Path, release: Path, trust: Path, tmp_path: Path) -> tuple[Path, Path, str]:
    """(releases folder, homes folder, the starting release id) for PEOPLE people."""
    return make_federation(world, release, trust, tmp_path, PEOPLE, SHARING)


@pytest.fixture
def make_people(world: Path, release: Path, trust: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """make_people(name, people, sharing): a federation of its own under tmp_path / name."""

    def make(name: str, people: int, sharing: tuple[int, ...]) -> tuple[Path, Path, str]:
        folder = tmp_path / name
        folder.mkdir()
        return make_federation(world, release, trust, folder, people, sharing)

    return make
