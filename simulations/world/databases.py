"""Rating the world's images: the crowd-rated databases, the personal ones, the held-out ones.

Each `make_*` function chooses its images, has them rated on the real database's scale,
writes the database and returns what the world card needs to describe it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tastevec.simulations.world import database_writers as writers
from tastevec.simulations.world.image_pool import WorldImage
from tastevec.simulations.world.properties import FEATURES
from tastevec.simulations.world.raters import (
    crowd_opinions,
    five_point,
    half_points,
    person_opinions,
    slider,
    ten_point,
)
from tastevec.simulations.world.sizes import WorldSize
from tastevec.simulations.world.tastes import (
    EVERYONE,
    FLICKR_PEOPLE,
    PARA_PEOPLE,
    Person,
    Population,
    sample_person,
    standardise,
)


@dataclass
class WorldState:
    """The rendered images with their standardised features and each notion's utilities."""

    root: Path
    images: Sequence[WorldImage]
    features: np.ndarray
    notions: Mapping[str, np.ndarray]
    rng: np.random.Generator

    def indices(self, held_out: bool) -> np.ndarray:
        return np.array([i for i, image in enumerate(self.images) if image.held_out == held_out])

    def choose(self, held_out: bool, count: int, exclude: np.ndarray | None = None) -> np.ndarray:
        candidates = self.indices(held_out)
        if exclude is not None:
            candidates = np.setdiff1d(candidates, exclude)
        count = min(count, len(candidates))
        return np.sort(self.rng.choice(candidates, size=count, replace=False))


@dataclass(frozen=True)
class RatedPerson:
    person: Person
    database: str
    split: str
    indices: np.ndarray  # into WorldState.images
    ratings: np.ndarray  # on the database's scale


@dataclass
class BuiltDatabase:
    """What the world card reports of one database."""

    name: str  # the loader's name
    mirrors: str
    role: str  # quality | aesthetics | personal | test-only
    scale: str
    indices: np.ndarray
    normalised: np.ndarray  # each image's score on [0, 1]
    ratings_per_image: list[np.ndarray]
    notion: np.ndarray  # noiseless utility for every world image
    image_options: dict[str, Any] = field(default_factory=dict)  # for load_image_scores
    people_options: dict[str, Any] = field(default_factory=dict)  # for load_people_ratings
    people: list[RatedPerson] = field(default_factory=list)

    @property
    def ratings(self) -> int:
        return sum(len(r) for r in self.ratings_per_image)


def _split_labels(rng: np.random.Generator, count: int, fractions: Mapping[str, float]) -> list:
    labels = [name for name, f in fractions.items() for _ in range(round(count * f))]
    labels += [next(iter(fractions))] * (count - len(labels))
    return [str(label) for label in rng.permutation(labels[:count])]


def make_koniq10k(world: WorldState, count: int) -> BuiltDatabase:
    chosen = world.choose(False, count)
    utility = world.notions["koniq10k"]
    ratings = five_point(crowd_opinions(utility[chosen], 20, 0.9, world.rng))
    splits = _split_labels(world.rng, len(chosen), {"train": 0.7, "validation": 0.1, "test": 0.2})
    writers.write_koniq10k(
        world.root / "koniq10k", [world.images[i] for i in chosen], ratings, splits
    )
    return BuiltDatabase(
        "koniq10k",
        "KonIQ-10k",
        "quality",
        "MOS 1-5 from 20 ratings per image",
        chosen,
        (ratings.mean(axis=1) - 1) / 4,
        list(ratings),
        utility,
    )


def _percentile(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ranks = np.argsort(np.argsort(values + rng.normal(0, values.std() * 0.2, values.shape)))
    return 100.0 * ranks / max(1, len(values) - 1)


def make_spaq(world: WorldState, count: int) -> BuiltDatabase:
    chosen = world.choose(False, count)
    utility = world.notions["spaq"]
    ratings = slider(crowd_opinions(utility[chosen], 15, 0.8, world.rng))
    column = {name: world.features[chosen, FEATURES.index(name)] for name in FEATURES}
    attributes = {
        "Brightness": _percentile(column["brightness"], world.rng),
        "Colorfulness": _percentile(column["colourfulness"], world.rng),
        "Contrast": _percentile(column["contrast"], world.rng),
        "Noisiness": _percentile(column["noise"], world.rng),
        "Sharpness": _percentile(column["sharpness"], world.rng),
    }
    writers.write_spaq(world.root / "spaq", [world.images[i] for i in chosen], ratings, attributes)
    return BuiltDatabase(
        "spaq",
        "SPAQ",
        "quality",
        "MOS 0-100 from 15 slider ratings per image",
        chosen,
        ratings.mean(axis=1) / 100,
        list(ratings),
        utility,
        image_options={"test_fraction": 0.2, "seed": 0},
    )


def _voted(
    world: WorldState, count: int, name: str, voters: int, noise: float
) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Images chosen for a 1-10 voting database, their votes, and a seeded 80/20 test flag."""
    chosen = world.choose(False, count)
    votes = ten_point(crowd_opinions(world.notions[name][chosen], voters, noise, world.rng))
    labels = _split_labels(world.rng, len(chosen), {"train": 0.8, "test": 0.2})
    return chosen, votes, [label == "test" for label in labels]


def make_ava(world: WorldState, count: int) -> BuiltDatabase:
    chosen, votes, test = _voted(world, count, "ava", voters=60, noise=1.1)
    writers.write_ava(world.root / "ava", [world.images[i] for i in chosen], votes, test)
    return BuiltDatabase(
        "ava", "AVA", "aesthetics", "mean of 60 votes 1-10 per image", chosen,
        (votes.mean(axis=1) - 1) / 9, list(votes), world.notions["ava"],
    )  # fmt: skip


def make_tad66k(world: WorldState, count: int) -> BuiltDatabase:
    chosen, votes, test = _voted(world, count, "tad66k", voters=20, noise=1.0)
    writers.write_tad66k(world.root / "tad66k", [world.images[i] for i in chosen], votes, test)
    return BuiltDatabase(
        "tad66k", "TAD66K", "aesthetics", "mean score 0-10 from 20 raters per image", chosen,
        votes.mean(axis=1) / 10, list(votes), world.notions["tad66k"],
    )  # fmt: skip


def _rate_by_people(
    world: WorldState, people: Sequence[Person], indices: np.ndarray, raters_per_image: int
) -> list[tuple[Person, int]]:
    """(person, image index) pairs: each image rated by `raters_per_image` distinct people,
    each person rating about the same number of images."""
    pairs = []
    order = world.rng.permutation(len(people))
    for k, index in enumerate(world.rng.permutation(indices)):
        for j in range(min(raters_per_image, len(people))):
            pairs.append((people[order[(k * raters_per_image + j) % len(people)]], int(index)))
    return sorted(pairs, key=lambda pair: (pair[0].id, pair[1]))


def rate_people(
    world: WorldState,
    database: str,
    split: str,
    pairs: Sequence[tuple[Person, int]],
    scale: Callable[[np.ndarray], np.ndarray],
) -> list[RatedPerson]:
    """Each person's ratings of their images, from their own taste, on `scale`."""
    grouped: dict[str, tuple[Person, list[int]]] = {}
    for person, index in pairs:
        grouped.setdefault(person.id, (person, []))[1].append(index)
    rated = []
    for person, indices in grouped.values():
        utility = person.utility(world.features, world.notions)[indices]
        ratings = scale(person_opinions(person, utility, world.rng)).astype(float)
        rated.append(RatedPerson(person, database, split, np.array(indices), ratings))
    return rated


def _from_people(
    name: str, mirrors: str, role: str, scale: str, world: WorldState, people: list[RatedPerson]
) -> BuiltDatabase:
    per_image: dict[int, list[float]] = {}
    for rated in people:
        for index, rating in zip(rated.indices, rated.ratings, strict=True):
            per_image.setdefault(int(index), []).append(float(rating))
    chosen = np.array(sorted(per_image))
    lists = [np.array(per_image[int(i)]) for i in chosen]
    train = [r.person for r in people if r.split == "train"] or [r.person for r in people]
    notion = standardise(np.mean([p.utility(world.features, world.notions) for p in train], 0))
    normalised = np.array([(ratings.mean() - 1) / 4 for ratings in lists])
    return BuiltDatabase(
        name, mirrors, role, scale, chosen, normalised, lists, notion, people=people
    )


def _panel(
    world: WorldState,
    population: Population,
    prefix: str,
    size: WorldSize,
    scale: Callable[[np.ndarray], np.ndarray],
    database: str,
) -> list[RatedPerson]:
    """A personal database's people: train people rate one set of images, test people
    another, so no test person's image is in the training split."""
    count = size.personal_train_people + size.personal_test_people
    people = [sample_person(f"{prefix}{n:03d}", population, world.rng) for n in range(count)]
    test_ids = set(
        world.rng.choice([p.id for p in people], size.personal_test_people, replace=False).tolist()
    )
    train_images = world.choose(False, size.personal_train_images)
    test_images = world.choose(False, size.personal_test_images, exclude=train_images)
    r = size.raters_per_personal_image
    train_pairs = _rate_by_people(
        world, [p for p in people if p.id not in test_ids], train_images, r
    )
    test_pairs = _rate_by_people(world, [p for p in people if p.id in test_ids], test_images, r)
    return rate_people(world, database, "train", train_pairs, scale) + rate_people(
        world, database, "test", test_pairs, scale
    )


def make_flickr_aes(world: WorldState, size: WorldSize) -> BuiltDatabase:
    people = _panel(world, FLICKR_PEOPLE, "worker", size, five_point, "flickr_aes")
    built = _from_people(
        "flickr_aes", "FLICKR-AES", "personal", "integer 1-5 per worker", world, people
    )
    rows = [
        (rated.person.id, world.images[int(i)], int(r))
        for rated in people
        for i, r in zip(rated.indices, rated.ratings, strict=True)
    ]
    writers.write_flickr_aes(
        world.root / "flickr_aes", [world.images[i] for i in built.indices], rows
    )
    test_workers = sorted(p.person.id for p in people if p.split == "test")
    built.image_options = built.people_options = {"test_workers": test_workers}
    return built


# PARA's other attributes follow one image property each, through the user's own bias.
_PARA_ATTRIBUTES = {
    "quality": ("koniq10k", 1.0),
    "composition": ("thirds", 1.0),
    "color": ("colourfulness", 1.0),
    "dof": ("sharpness", -0.5),
    "content": ("ava", 1.0),
    "light": ("exposure_error", -1.0),
}


def make_para(world: WorldState, size: WorldSize) -> BuiltDatabase:
    people = _panel(world, PARA_PEOPLE, "user", size, half_points, "para")
    built = _from_people("para", "PARA", "personal", "1-5 in steps of 0.5 per user", world, people)
    sessions = {
        world.images[int(i)].number: f"session{1 + k // 50:04d}"
        for k, i in enumerate(built.indices)
    }
    rows = []
    for rated in people:
        for index, rating in zip(rated.indices, rated.ratings, strict=True):
            scores = {"aesthetic": float(rating)}
            for attribute, (source, sign) in _PARA_ATTRIBUTES.items():
                if source in world.notions:
                    value = world.notions[source][index]
                else:
                    value = world.features[index, FEATURES.index(source)]
                opinion = rated.person.bias + sign * value + world.rng.normal(0.0, 0.6)
                scores[attribute] = float(half_points(np.array(opinion)))
            rows.append((rated.person.id, world.images[int(index)], scores))
    test_images = {
        world.images[int(i)].number for r in people if r.split == "test" for i in r.indices
    }
    writers.write_para(
        world.root / "para", [world.images[i] for i in built.indices], sessions, rows, test_images
    )
    built.people_options = {"test_users": sorted(p.person.id for p in people if p.split == "test")}
    return built


def make_real_cur(world: WorldState, size: WorldSize) -> BuiltDatabase:
    """Held-out people rating held-out photos, one album each, like REAL-CUR."""
    people = [sample_person(f"album{n:02d}", EVERYONE, world.rng) for n in range(size.test_people)]
    pairs = [
        (person, int(i)) for person in people for i in world.choose(True, size.test_person_images)
    ]
    rated = rate_people(world, "real_cur", "test", pairs, five_point)
    rows = [
        (r.person.id, world.images[int(i)], int(score))
        for r in rated
        for i, score in zip(r.indices, r.ratings, strict=True)
    ]
    writers.write_real_cur(world.root / "real_cur", rows)
    return _from_people(
        "real_cur", "REAL-CUR", "test-only", "integer 1-5 per album owner", world, rated
    )


def make_aadb(world: WorldState, size: WorldSize) -> BuiltDatabase:
    """The held-out photos rated by a few people each from the general population, like AADB
    (test-only)."""
    raters = [
        sample_person(f"aadb{n:03d}", EVERYONE, world.rng)
        for n in range(max(size.aadb_raters * 4, 8))
    ]
    pairs = _rate_by_people(world, raters, world.indices(True), size.aadb_raters)
    rated = rate_people(world, "aadb", "test", pairs, five_point)
    built = _from_people(
        "aadb", "AADB", "test-only", f"0-1 from {size.aadb_raters} raters", world, rated
    )
    built.people = []  # its raters are anonymous crowd, not test people
    writers.write_aadb(
        world.root / "aadb", [world.images[i] for i in built.indices], built.normalised
    )
    return built
