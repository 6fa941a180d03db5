"""REAL-CUR (Ren et al., ICCV 2017): 14 personal albums, 2,871 photos rated 1-5 by their owners.

Layout: `images/<album>/<score>/<image>`, where the score folder's name (1-5) is the owner's
rating of every image in it. There is no table; one person per album. The database is
test-only in the paper, so it has the single split "test".
"""

from __future__ import annotations

from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.records import (
    DatabaseInfo,
    DatabaseKind,
    PeopleRatings,
    PersonRatings,
    ScoredImage,
)
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.tables import require_dir
from tastevec.common.errors import DatasetError
from tastevec.common.images import IMAGE_SUFFIXES

INFO = DatabaseInfo(
    name="real_cur",
    title="REAL-CUR",
    kind=DatabaseKind.PERSONAL,
    scale=ScoreScale(1.0, 5.0),
    splits=("test",),
    has_people=True,
)
IMAGE_DIR = "images"
SCORE_FOLDERS = ("1", "2", "3", "4", "5")


def _visible(folder: Path) -> list[Path]:
    """The folder's entries in sorted order; hidden ones (".DS_Store", "._x.jpg") are left out."""
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))


def _album(album: Path, bad: BadRows) -> tuple[ScoredImage, ...]:
    """An album's images with the rating their score folder gives, sorted by file name."""
    first_seen: dict[str, Path] = {}
    ratings: list[ScoredImage] = []
    for folder in _visible(album):
        if not folder.is_dir():
            bad.report(folder, None, "not in a score folder (1-5)")
            continue
        if folder.name not in SCORE_FOLDERS:
            bad.report(folder, None, f"score folder {folder.name!r} is not an integer 1-5")
            continue
        raw = float(folder.name)
        for image in _visible(folder):
            if not image.is_file() or image.suffix.lower() not in IMAGE_SUFFIXES:
                bad.report(image, None, "not an image file")
            elif image.name in first_seen:
                bad.report(image, None, f"duplicate of {first_seen[image.name]}")
            else:
                first_seen[image.name] = image
                ratings.append(ScoredImage(image, INFO.scale.normalise(raw), raw))
    return tuple(sorted(ratings, key=lambda item: item.path.name))


def load_people_ratings(
    root: Path, *, on_bad_row: OnBadRow | str = OnBadRow.RAISE
) -> PeopleRatings:
    """Each album's ratings (1-5, from the score folders) normalised to [0, 1], split "test".

    Albums and images come in sorted order. A score folder not named 1-5, a non-image file and
    an image name found in two score folders of one album are bad rows; hidden files are
    ignored. Albums without images are left out.
    """
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "REAL-CUR image folder")
    bad = BadRows(on_bad_row)
    albums = _visible(images)
    if not albums:
        raise DatasetError(f"{images}: no albums (expected images/<album>/<score 1-5>/<image>)")

    people: list[PersonRatings] = []
    for album in albums:
        if not album.is_dir():
            bad.report(album, None, "not an album folder")
            continue
        ratings = _album(album, bad)
        if ratings:
            people.append(PersonRatings(album.name, ratings))
    return PeopleRatings(INFO, root, {"test": tuple(people)}, bad.skipped())
