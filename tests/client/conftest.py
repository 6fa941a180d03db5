"""A test person of the small photo world, as the ratings CSV a user would write, and a home
holding the small world's release and that person's ratings."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tastevec.client.cli import main


@pytest.fixture(scope="session")
def person_csv(
    ratings_csv: Callable[[int, Path], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """One held-out-domain person's 30 ratings (1-5) as the CSV a user would write."""
    return ratings_csv(0, tmp_path_factory.mktemp("person") / "ratings.csv")


@pytest.fixture
def rated_home(tmp_path: Path, release: Path, trust: Path, person_csv: Path) -> Path:
    home = tmp_path / "home"
    pull = ["pull", "--home", str(home), "--from-dir", str(release), "--trust", str(trust)]
    assert main(pull) == 0
    assert main(["rate", "--home", str(home), "--csv", str(person_csv), "--scale", "1-5"]) == 0
    return home
