"""AVA (Murray et al., 2012): 255,500 DPChallenge photos, each with its votes on 1-10.

Files: `AVA.txt`, space-separated, no header, 15 fields a line: index, image id (the image is
`<id>.jpg`), the vote counts for scores 1..10, two semantic tag ids (0 = none), challenge id.
An image's score is its mean vote, sum(k * count_k) / sum(count_k), on 1-10. The official test
list `aesthetics_image_lists/generic_test.jpgl` holds one image id a line; every other image
is "train". Images live in `images/` (the `image_dir` parameter).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow, where
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.tables import read_fields, require_dir

INFO = DatabaseInfo(
    name="ava",
    title="AVA",
    kind=DatabaseKind.AESTHETICS,
    scale=ScoreScale(1.0, 10.0),
    splits=("train", "test"),
)
SCORES_FILE = "AVA.txt"
TEST_LIST = "aesthetics_image_lists/generic_test.jpgl"
IMAGE_DIR = "images"
FIELDS = 15  # index, image id, 10 vote counts, 2 semantic tags, challenge id
VOTES = slice(2, 12)


def image_file(image_id: str) -> str:
    """The file name of the image with id `image_id`."""
    return f"{image_id}.jpg"


def _votes(path: Path, bad: BadRows, seen: set[str]) -> Iterator[tuple[int, str, tuple[int, ...]]]:
    """(line, image id, 10 vote counts) for each good line of AVA.txt; bad ones go to `bad`.

    Every id on a line with one, good or bad, is added to `seen`.
    """
    for line, fields in read_fields(path):
        if len(fields) >= 2:
            seen.add(fields[1])
        if len(fields) != FIELDS:
            bad.report(path, line, f"expected {FIELDS} fields, got {len(fields)}")
            continue
        votes = fields[VOTES]
        if not all(vote.isascii() and vote.isdigit() for vote in votes):
            bad.report(path, line, f"vote counts {' '.join(votes)} are not non-negative integers")
            continue
        counts = tuple(int(vote) for vote in votes)
        if sum(counts) == 0:
            bad.report(path, line, f"image {fields[1]} has no votes")
            continue
        yield line, fields[1], counts


def mean_score(counts: tuple[int, ...]) -> float:
    """The mean vote on 1-10 of the counts for scores 1..10."""
    return sum(k * count for k, count in enumerate(counts, start=1)) / sum(counts)


def vote_histograms(
    root: Path, *, on_bad_row: OnBadRow | str = OnBadRow.RAISE
) -> dict[str, tuple[int, ...]]:
    """Each image id's 10 vote counts (for scores 1..10), in file order; no images needed."""
    path = Path(root) / SCORES_FILE
    bad = BadRows(on_bad_row)
    histograms: dict[str, tuple[int, ...]] = {}
    first_line: dict[str, int] = {}
    for line, image_id, counts in _votes(path, bad, set()):
        if image_id in histograms:
            first = where(path, first_line[image_id])
            bad.report(path, line, f"duplicate row for {image_id} (first at {first})")
            continue
        histograms[image_id] = counts
        first_line[image_id] = line
    bad.skipped()  # logs how many were skipped
    return histograms


def load_image_scores(
    root: Path,
    *,
    image_dir: str = IMAGE_DIR,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every image's mean vote (1-10) normalised to [0, 1]; the official test list is "test"."""
    root = Path(root)
    images = require_dir(root / image_dir, "AVA image folder")
    bad = BadRows(on_bad_row)

    path = root / SCORES_FILE
    rows = ImageRows(bad, check_images=check_images)
    listed: set[str] = set()
    for line, image_id, counts in _votes(path, bad, listed):
        mean = mean_score(counts)
        rows.add(path, line, images / image_file(image_id), mean, INFO.scale.normalise(mean))

    list_path = root / TEST_LIST
    test: set[str] = set()
    for line, fields in read_fields(list_path):
        image_id = fields[0]
        if len(fields) != 1:
            bad.report(list_path, line, f"expected 1 image id, got {len(fields)} fields")
        elif image_id not in listed:
            bad.report(list_path, line, f"image id {image_id} is not in {SCORES_FILE}")
        elif image_file(image_id) in test:
            bad.report(list_path, line, f"duplicate image id {image_id}")
        else:
            test.add(image_file(image_id))

    splits = rows.split(lambda item: "test" if item.path.name in test else "train", INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())
