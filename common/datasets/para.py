"""PARA (Yang et al., CVPR 2022): 31,220 photos, each rated by about 25 of 438 users on 1-5.

Files: `annotation/PARA-Images.csv`, one row per user x image with `sessionId, imageName,
userId` and the scores `aestheticScore, qualityScore, compositionScore, colorScore, dofScore,
contentScore, lightScore` (1-5 in steps of 0.5), among other columns. The general view is
`annotation/PARA-GiaaTrain.csv` / `annotation/PARA-GiaaTest.csv` (the official image split):
`imageName, sessionId`, per attribute a 9-bin histogram `<attribute>Score_1.0 ... _5.0` and
`<attribute>Score_mean, <attribute>Score_std`. Images live at `imgs/<sessionId>/<imageName>`.

No user split is public: it is a parameter, the test users themselves or a seeded fraction.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.image_rows import ImageRows, PersonRows
from tastevec.common.datasets.records import (
    DatabaseInfo,
    DatabaseKind,
    ImageScores,
    PeopleRatings,
)
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.splits import given_test_keys, seeded_test_keys
from tastevec.common.datasets.tables import parse_score, read_csv, require_dir
from tastevec.common.errors import DatasetError

INFO = DatabaseInfo(
    name="para",
    title="PARA",
    kind=DatabaseKind.PERSONAL,
    scale=ScoreScale(1.0, 5.0),
    splits=("train", "test"),
    has_people=True,
    official_splits=False,  # the image split is official, the user split is a parameter
)
PEOPLE_FILE = "annotation/PARA-Images.csv"
GIAA_FILES = {"train": "annotation/PARA-GiaaTrain.csv", "test": "annotation/PARA-GiaaTest.csv"}
IMAGE_DIR = "imgs"
ATTRIBUTES = ("aesthetic", "quality", "composition", "color", "dof", "content", "light")
TEST_FRACTION = 40 / 438


def _column(attribute: str) -> str:
    if attribute not in ATTRIBUTES:
        raise DatasetError(
            f"PARA has no attribute {attribute!r} (attributes: {', '.join(ATTRIBUTES)})"
        )
    return f"{attribute}Score"


def _image(images: Path, row: dict[str, str], bad: BadRows, path: Path, line: int) -> Path | None:
    """`imgs/<sessionId>/<imageName>`, or None after reporting an empty field."""
    for field in ("sessionId", "imageName"):
        if not row[field]:
            bad.report(path, line, f"empty {field}")
            return None
    return images / row["sessionId"] / row["imageName"]


def load_image_scores(
    root: Path,
    *,
    attribute: str = "aesthetic",
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every image's mean `attribute` score (1-5) normalised to [0, 1], official GIAA split."""
    column = _column(attribute) + "_mean"
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "PARA image folder")
    bad = BadRows(on_bad_row)

    rows = ImageRows(bad, check_images=check_images)
    split_of: dict[Path, str] = {}
    for split, name in GIAA_FILES.items():
        path = root / name
        for line, row in read_csv(path, ("imageName", "sessionId", column)):
            image = _image(images, row, bad, path, line)
            if image is None:
                continue
            parsed = parse_score(row[column], INFO.scale, bad, path, line, column)
            if parsed is not None and rows.add(path, line, image, *parsed):
                split_of[image] = split

    splits = rows.split(lambda item: split_of[item.path], INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())


def load_people_ratings(
    root: Path,
    *,
    attribute: str = "aesthetic",
    test_users: Collection[str] | None = None,
    test_fraction: float = TEST_FRACTION,
    seed: int = 0,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> PeopleRatings:
    """Each user's `attribute` scores (1-5, steps of 0.5) normalised to [0, 1], users split.

    `test_users` names the test users; without it, round(n * test_fraction) of the user ids
    are chosen by `seed` (independent of row order).
    """
    column = _column(attribute)
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "PARA image folder")
    bad = BadRows(on_bad_row)
    path = root / PEOPLE_FILE
    rows = list(read_csv(path, ("sessionId", "imageName", "userId", column)))

    users = {row["userId"] for _, row in rows if row["userId"]}
    if test_users is None:
        test = seeded_test_keys(users, test_fraction, seed)
    elif isinstance(test_users, str):
        raise DatasetError(f"test_users must be a collection of user ids, not {test_users!r}")
    else:
        test = given_test_keys(users, test_users, "users")

    people = PersonRows(bad, check_images=check_images)
    for line, row in rows:
        image = _image(images, row, bad, path, line)
        if image is None:
            continue
        parsed = parse_score(row[column], INFO.scale, bad, path, line, column)
        if parsed is None:
            continue
        if not math.isclose(parsed[0] * 2, round(parsed[0] * 2), abs_tol=1e-9):
            bad.report(path, line, f"{column} {row[column]} is not a multiple of 0.5")
            continue
        people.add(path, line, row["userId"], image, *parsed)

    split_of = {user: "test" if user in test else "train" for user in people.people()}
    return PeopleRatings(INFO, root, people.split(split_of, INFO.splits), bad.skipped())
