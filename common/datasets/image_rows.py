"""Collecting a table's rows into scored images, catching duplicates and missing images."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, where
from tastevec.common.datasets.records import PersonRatings, ScoredImage


class ImageRows:
    """Rows of (image, score) keyed by image; a repeated image or a missing file is a bad row."""

    def __init__(self, bad: BadRows, *, check_images: bool = True) -> None:
        self.bad = bad
        self.check_images = check_images
        self._rows: dict[Path, ScoredImage] = {}
        self._first_seen: dict[Path, str] = {}

    def add(self, table: Path, line: int, image: Path, raw: float, score: float) -> bool:
        if image in self._rows:
            self.bad.report(
                table, line, f"duplicate row for {image.name} (first at {self._first_seen[image]})"
            )
            return False
        if self.check_images and not image.is_file():
            self.bad.report(table, line, f"image {image} is listed but missing")
            return False
        self._rows[image] = ScoredImage(image, score, raw)
        self._first_seen[image] = where(table, line)
        return True

    def items(self) -> list[ScoredImage]:
        return list(self._rows.values())

    def split(
        self, split_of: Callable[[ScoredImage], str], names: Iterable[str]
    ) -> dict[str, tuple[ScoredImage, ...]]:
        """The rows grouped by `split_of`, in table order, with every name in `names` present."""
        groups: dict[str, list[ScoredImage]] = {name: [] for name in names}
        for item in self._rows.values():
            groups[split_of(item)].append(item)
        return {name: tuple(items) for name, items in groups.items()}


class PersonRows:
    """Rows of (person, image, rating); a person rating one image twice is a bad row."""

    def __init__(self, bad: BadRows, *, check_images: bool = True) -> None:
        self.bad = bad
        self.check_images = check_images
        self._people: dict[str, dict[Path, ScoredImage]] = {}
        self._first_seen: dict[tuple[str, Path], str] = {}
        self._checked: dict[Path, bool] = {}

    def add(
        self, table: Path, line: int, person: str, image: Path, raw: float, score: float
    ) -> bool:
        if not person:
            self.bad.report(table, line, "empty person id")
            return False
        ratings = self._people.setdefault(person, {})
        if image in ratings:
            first = self._first_seen[(person, image)]
            self.bad.report(
                table, line, f"duplicate rating of {image.name} by {person} (first at {first})"
            )
            return False
        if self.check_images and not self._exists(image):
            self.bad.report(table, line, f"image {image} is listed but missing")
            return False
        ratings[image] = ScoredImage(image, score, raw)
        self._first_seen[(person, image)] = where(table, line)
        return True

    def _exists(self, image: Path) -> bool:
        if image not in self._checked:
            self._checked[image] = image.is_file()
        return self._checked[image]

    def people(self) -> list[str]:
        return [person for person, ratings in self._people.items() if ratings]

    def split(
        self, split_of: Mapping[str, str], names: Iterable[str]
    ) -> dict[str, tuple[PersonRatings, ...]]:
        """Each person's ratings under the split `split_of[person]`, people in table order."""
        groups: dict[str, list[PersonRatings]] = {name: [] for name in names}
        for person, ratings in self._people.items():
            if ratings:
                groups[split_of[person]].append(PersonRatings(person, tuple(ratings.values())))
        return {name: tuple(people) for name, people in groups.items()}
