"""A test person of the small photo world, as the ratings CSV a user would write, and a home
holding the small world's release and that person's ratings."""

import csv
from pathlib import Path

import pytest

from tastevec.client.cli import main
from tastevec.common.datasets.catalog import load_people_ratings


@pytest.fixture(scope="session")
def person_csv(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One held-out-domain person's 30 ratings (1-5) as the CSV a user would write."""
    people = load_people_ratings("real_cur", world / "databases" / "real_cur")
    person = people.split("test")[0]
    path = tmp_path_factory.mktemp("person") / "ratings.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "score"])
        for item in person.ratings:
            writer.writerow([item.path, item.raw])
    return path


@pytest.fixture
def rated_home(tmp_path: Path, release: Path, trust: Path, person_csv: Path) -> Path:
    home = tmp_path / "home"
    pull = ["pull", "--home", str(home), "--from-dir", str(release), "--trust", str(trust)]
    assert main(pull) == 0
    assert main(["rate", "--home", str(home), "--csv", str(person_csv), "--scale", "1-5"]) == 0
    return home
