"""What loaders return: scored images and people's ratings, per split, with skipped rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.errors import DatasetError


class DatabaseKind(StrEnum):
    QUALITY = "iqa"  # technical image quality
    AESTHETICS = "giaa"  # general (population) aesthetics
    PERSONAL = "piaa"  # ratings kept per person


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """What a database declares once: its name, kind, scale and split names."""

    name: str
    title: str
    kind: DatabaseKind
    scale: ScoreScale
    splits: tuple[str, ...]
    has_people: bool = False
    official_splits: bool = True  # False: the split is a parameter (seeded or given)


@dataclass(frozen=True, slots=True)
class ScoredImage:
    """An image with its score normalised to [0, 1] (higher is better) and as written."""

    path: Path
    score: float
    raw: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"normalised score {self.score} of {self.path} is outside [0, 1]")


@dataclass(frozen=True, slots=True)
class PersonRatings:
    """One person's ratings; `raw` is on the database's scale (1-5 for most)."""

    person: str
    ratings: tuple[ScoredImage, ...]


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A row a loader left out because the caller asked it to skip bad rows."""

    where: str  # "file:line"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def _split(splits: Mapping[str, tuple], database: str, name: str) -> tuple:
    try:
        return splits[name]
    except KeyError:
        known = ", ".join(splits) or "none"
        raise DatasetError(f"{database} has no split {name!r} (splits: {known})") from None


@dataclass(frozen=True)
class ImageScores:
    """A database's general view: per split, the images and their normalised scores."""

    info: DatabaseInfo
    root: Path
    splits: Mapping[str, tuple[ScoredImage, ...]]
    skipped: tuple[SkippedRow, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "splits", MappingProxyType(dict(self.splits)))

    def split(self, name: str) -> tuple[ScoredImage, ...]:
        return _split(self.splits, self.info.name, name)

    def __len__(self) -> int:
        return sum(len(items) for items in self.splits.values())


@dataclass(frozen=True)
class PeopleRatings:
    """A personal database's per-person view: per split, each person's ratings."""

    info: DatabaseInfo
    root: Path
    splits: Mapping[str, tuple[PersonRatings, ...]]
    skipped: tuple[SkippedRow, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "splits", MappingProxyType(dict(self.splits)))

    def split(self, name: str) -> tuple[PersonRatings, ...]:
        return _split(self.splits, self.info.name, name)

    def person(self, person: str) -> PersonRatings:
        for people in self.splits.values():
            for entry in people:
                if entry.person == person:
                    return entry
        raise DatasetError(f"{self.info.name} has no person {person!r}")
