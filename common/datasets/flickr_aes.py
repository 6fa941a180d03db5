"""FLICKR-AES (Ren et al., ICCV 2017): 40,000 Flickr photos rated 1-5 by 210 AMT workers.

Files: `FLICKR-AES_image_labeled_by_each_worker.csv`, header `worker, imagePair, score` (the
header fields carry leading spaces), one row per worker x image with an integer score 1-5;
and `FLICKR-AES_image_score.txt`, one whitespace-separated `image_name score` per line (the
mean score on 1-5; names may start with a space). Images live in `40K/`.

The paper splits the workers 173 train / 37 test, but that split is not public: it is a
parameter here, either the test workers themselves or a seeded fraction of the worker ids.
"""

from __future__ import annotations

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
from tastevec.common.datasets.tables import parse_score, read_csv, read_fields, require_dir
from tastevec.common.errors import DatasetError

INFO = DatabaseInfo(
    name="flickr_aes",
    title="FLICKR-AES",
    kind=DatabaseKind.PERSONAL,
    scale=ScoreScale(1.0, 5.0),
    splits=("train", "test"),
    has_people=True,
    official_splits=False,
)
WORKER_FILE = "FLICKR-AES_image_labeled_by_each_worker.csv"
SCORES_FILE = "FLICKR-AES_image_score.txt"
IMAGE_DIR = "40K"
WORKER_COLUMNS = ("worker", "imagePair", "score")
TEST_FRACTION = 37 / 210

_WorkerRow = tuple[int, str, str, str]  # line, worker, image name, score as written


def _worker_rows(root: Path) -> list[_WorkerRow]:
    path = root / WORKER_FILE
    return [
        (line, row["worker"], row["imagePair"], row["score"])
        for line, row in read_csv(path, WORKER_COLUMNS)
    ]


def _test_workers(
    rows: list[_WorkerRow],
    test_workers: Collection[str] | None,
    test_fraction: float,
    seed: int,
) -> frozenset[str]:
    """The test workers: `test_workers` if given, else a seeded fraction of all worker ids."""
    workers = {worker for _, worker, _, _ in rows if worker}
    if test_workers is None:
        return seeded_test_keys(workers, test_fraction, seed)
    if isinstance(test_workers, str):
        raise DatasetError(f"test_workers must be a collection of worker ids, not {test_workers!r}")
    return given_test_keys(workers, test_workers, "workers")


def load_people_ratings(
    root: Path,
    *,
    test_workers: Collection[str] | None = None,
    test_fraction: float = TEST_FRACTION,
    seed: int = 0,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> PeopleRatings:
    """Each worker's integer scores (1-5) normalised to [0, 1], workers split train/test.

    `test_workers` names the test workers; without it, round(n * test_fraction) of the worker
    ids are chosen by `seed` (independent of row order).
    """
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "FLICKR-AES image folder")
    bad = BadRows(on_bad_row)
    path = root / WORKER_FILE
    rows = _worker_rows(root)
    test = _test_workers(rows, test_workers, test_fraction, seed)

    people = PersonRows(bad, check_images=check_images)
    for line, worker, name, text in rows:
        if not name:
            bad.report(path, line, "empty imagePair")
            continue
        parsed = parse_score(text, INFO.scale, bad, path, line, "score")
        if parsed is None:
            continue
        if not parsed[0].is_integer():
            bad.report(path, line, f"score {text} is not an integer 1-5")
            continue
        people.add(path, line, worker, images / name, *parsed)

    split_of = {worker: "test" if worker in test else "train" for worker in people.people()}
    return PeopleRatings(INFO, root, people.split(split_of, INFO.splits), bad.skipped())


def load_image_scores(
    root: Path,
    *,
    test_workers: Collection[str] | None = None,
    test_fraction: float = TEST_FRACTION,
    seed: int = 0,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every image's mean score (1-5) normalised to [0, 1], split by the worker split.

    An image rated by any test worker (chosen as in `load_people_ratings`, from the worker
    file) is in "test", every other image in "train", so "train" holds no test worker's image.
    """
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "FLICKR-AES image folder")
    bad = BadRows(on_bad_row)
    rows = _worker_rows(root)
    test = _test_workers(rows, test_workers, test_fraction, seed)
    test_images = {images / name for _, worker, name, _ in rows if worker in test and name}

    path = root / SCORES_FILE
    scored = ImageRows(bad, check_images=check_images)
    for line, fields in read_fields(path):
        if len(fields) != 2:
            bad.report(path, line, f"expected 2 fields (image_name score), got {len(fields)}")
            continue
        name, text = fields
        parsed = parse_score(text, INFO.scale, bad, path, line, "score")
        if parsed is not None:
            scored.add(path, line, images / name, *parsed)

    splits = scored.split(lambda item: "test" if item.path in test_images else "train", INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())
