"""A real release for the client's tests: the small photo world, forged briefly at 64 px."""

import csv
from pathlib import Path

import pytest

from tastevec.common.datasets.catalog import load_people_ratings
from tastevec.server.cli import main as server_main
from tastevec.simulations.cli import main as sim_main


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    assert sim_main(["world", "--out", str(out), "--size", "small"]) == 0
    return out


@pytest.fixture(scope="session")
def release_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "release-key"
    assert server_main(["keygen", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="session")
def trust(release_key: Path) -> Path:
    return release_key.with_name(release_key.name + ".pub")


@pytest.fixture(scope="session")
def release(world: Path, release_key: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("forge")
    config = folder / "forge.toml"
    config.write_text(
        f'world = "{world}"\n[training]\nsteps = 4\nbatch_size = 8\nimage_size = 64\n'
        "checkpoint_every = 100\n"
    )
    out = folder / "release"
    args = ["forge", "--config", str(config), "--out", str(out), "--key", str(release_key)]
    assert server_main([*args, "--no-progress"]) == 0
    return out


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
