"""Simulated people for the federation tests: the small world's test people's ratings as CSV
files; homes with its release installed and a person's ratings each, the first ones sharing;
a releases folder holding the release."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tastevec.client.cli import main as client_main
from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key

PEOPLE = 4
SHARING = (0, 1, 2)  # person 3 keeps sharing off
RatingsCsv = Callable[[int, Path], Path]  # the ratings_csv fixture (tests/conftest.py)


def make_federation(
    ratings_csv: RatingsCsv,
    release: Path,
    trust: Path,
    folder: Path,
    people: int,
    sharing: tuple[int, ...],
) -> tuple[Path, Path, str]:
    manifest = verify_release(release, load_public_key(trust))
    releases = folder / "releases"
    shutil.copytree(release, releases / manifest.release_id)
    homes = folder / "homes"
    for index in range(people):
        home = homes / f"person-{index}"
        ratings = ratings_csv(index, folder / f"ratings-{index}.csv")
        args = ["--home", str(home)]
        assert client_main(["pull", *args, "--from-dir", str(release), "--trust", str(trust)]) == 0
        assert client_main(["rate", *args, "--csv", str(ratings), "--scale", "1-5"]) == 0
        if index in sharing:
            assert client_main(["share", "on", *args]) == 0
    return releases, homes, manifest.release_id


@pytest.fixture
def federation(
    ratings_csv: RatingsCsv, release: Path, trust: Path, tmp_path: Path
) -> tuple[Path, Path, str]:
    """(releases folder, homes folder, the starting release id) for PEOPLE people."""
    return make_federation(ratings_csv, release, trust, tmp_path, PEOPLE, SHARING)


@pytest.fixture
def make_people(ratings_csv: RatingsCsv, release: Path, trust: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """make_people(name, people, sharing): a federation of its own under tmp_path / name."""

    def make(name: str, people: int, sharing: tuple[int, ...]) -> tuple[Path, Path, str]:
        folder = tmp_path / name
        folder.mkdir()
        return make_federation(ratings_csv, release, trust, folder, people, sharing)

    return make
