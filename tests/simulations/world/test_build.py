"""The small photo world, built once through the CLI and read back through the loaders."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tastevec.common.datasets import catalog
from tastevec.simulations.cli import main
from tastevec.simulations.world.build import build_world
from tastevec.simulations.world.bundled_photos import bundled_photo
from tastevec.simulations.world.sizes import SIZES

SMALL = SIZES["small"]
TRAINING = ("koniq10k", "spaq", "ava", "tad66k", "flickr_aes", "para")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    assert main(["world", "--out", str(out), "--size", "small"]) == 0
    return out


def manifest(world: Path) -> dict:
    return json.loads((world / "world.json").read_text())


def images_of(world: Path, name: str) -> set[str]:
    entry = manifest(world)["databases"][name]
    root = world / entry["path"]
    names: set[str] = set()
    if catalog.DATABASES[name].has_people:
        people = catalog.load_people_ratings(name, root, **entry["people_options"])
        names |= {r.path.name for split in people.splits.values() for p in split for r in p.ratings}
    if name != "real_cur":
        scores = catalog.load_image_scores(name, root, **entry["image_options"])
        names |= {i.path.name for split in scores.splits.values() for i in split}
    return names


def test_every_database_reads_back_through_its_loader(world: Path) -> None:
    entries = manifest(world)["databases"]
    assert list(entries) == [*TRAINING, "aadb", "real_cur"]
    for name, entry in entries.items():
        root = world / entry["path"]
        if name != "real_cur":
            scores = catalog.load_image_scores(name, root, **entry["image_options"])
            assert scores.skipped == ()
            expected = SMALL.crowd_database_images if entry["role"] != "personal" else (
                SMALL.personal_train_images + SMALL.personal_test_images)  # fmt: skip
            if name == "aadb":
                expected = SMALL.held_out_images
            assert len(scores) == expected, name
            assert all(0.0 <= i.score <= 1.0 for s in scores.splits.values() for i in s)
            assert np.std([i.score for i in scores.split("test")]) > 0.02, name


def test_personal_databases_keep_test_people_and_their_images_apart(world: Path) -> None:
    entries = manifest(world)["databases"]
    for name in ("flickr_aes", "para"):
        entry = entries[name]
        people = catalog.load_people_ratings(name, world / entry["path"], **entry["people_options"])
        train = people.split("train")
        test = people.split("test")
        assert len(train) == SMALL.personal_train_people
        assert len(test) == SMALL.personal_test_people
        train_images = {r.path.name for p in train for r in p.ratings}
        test_images = {r.path.name for p in test for r in p.ratings}
        assert not train_images & test_images
        expected = SMALL.personal_train_images * SMALL.raters_per_personal_image
        assert sum(len(p.ratings) for p in train) == expected
    albums = catalog.load_people_ratings("real_cur", world / entries["real_cur"]["path"])
    assert [len(p.ratings) for p in albums.split("test")] == [SMALL.test_person_images] * 4


def test_the_held_out_domain_is_unseen_by_every_training_database(world: Path) -> None:
    seen = set().union(*(images_of(world, name) for name in TRAINING))
    held_out = images_of(world, "aadb") | images_of(world, "real_cur")
    assert len(held_out) == SMALL.held_out_images
    assert not seen & held_out
    truth = (world / "truth" / "images.csv").read_text().splitlines()
    sources = {line.split(",")[1] for line in truth[1:] if line.split(",")[2] == "1"}
    assert sources == {"grace_hopper", "china", "flower"}


def test_the_card_says_the_ratings_are_simulated_and_reports_its_checks(world: Path) -> None:
    card = (world / "world-card.md").read_text()
    assert "**The ratings in this world are simulated.**" in card
    for name in (*TRAINING, "aadb", "real_cur"):
        assert f"| `{name}` |" in card
    figures = json.loads((world / "world-card.json").read_text())
    checks = figures["checks"]
    assert 0.0 < checks["mean_ceiling"] <= 1.0
    assert checks["hopeless"] == (checks["mean_ceiling"] <= 0.7)
    agreement = figures["databases"]["koniq10k"]["agreement"]
    assert 0.5 < agreement <= 1.0  # 20 raters per image agree closely
    assert set(figures["test_people"]) == {"flickr_aes", "para", "real_cur"}


def tree_digest(root: Path) -> dict[str, str]:
    """Every file's sha256 (xlsx files store their save time, so they are left out)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".xlsx" and p.name != "world-card.md"
        and p.name != "world-card.json"
    }  # fmt: skip


def test_the_same_seed_builds_the_same_world(world: Path, tmp_path: Path) -> None:
    build_world(tmp_path, SMALL, seed=0, progress=False)
    assert tree_digest(tmp_path) == tree_digest(world)
    spaq = manifest(world)["databases"]["spaq"]
    first = catalog.load_image_scores("spaq", world / spaq["path"], **spaq["image_options"])
    again = catalog.load_image_scores("spaq", tmp_path / spaq["path"], **spaq["image_options"])
    assert [i.raw for i in first.split("test")] == [i.raw for i in again.split("test")]


def test_another_seed_builds_another_world_over_the_old_one(tmp_path: Path) -> None:
    build_world(tmp_path, SMALL, seed=0, progress=False)
    first = tree_digest(tmp_path)
    build_world(tmp_path, SMALL, seed=1, progress=False)  # replaces the previous world
    assert tree_digest(tmp_path) != first
    assert len(list((tmp_path / "photos").iterdir())) == SMALL.train_images + SMALL.held_out_images


def test_a_world_from_the_users_own_photos(tmp_path: Path) -> None:
    photos = tmp_path / "mine"
    photos.mkdir()
    for name in ("coffee", "chelsea", "rocket", "astronaut", "camera"):
        bundled_photo(name).save(photos / f"{name}.png")
    out = tmp_path / "world"
    figures = build_world(out, SMALL, photos=photos, seed=0, progress=False)
    assert figures["photos"] == str(photos)
    assert len(figures["held_out_sources"]) == 1
    assert len(images_of(out, "aadb")) == SMALL.held_out_images


def test_a_folder_that_is_not_a_world_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["world", "--out", str(tmp_path)]) == 2
    assert "is not empty and holds no world.json" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_bad_photo_folders_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["world", "--out", str(tmp_path / "w"), "--photos", str(tmp_path / "no")]) == 2
    assert "photo folder not found" in capsys.readouterr().err
    (tmp_path / "one").mkdir()
    bundled_photo("coffee").save(tmp_path / "one" / "coffee.png")
    assert main(["world", "--out", str(tmp_path / "w"), "--photos", str(tmp_path / "one")]) == 2
    assert "need at least 2 photos" in capsys.readouterr().err
