"""A test person of the small photo world, as the ratings CSV a user would write."""

import csv
from pathlib import Path

import pytest

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
