"""TAD66K (He et al., 2022): 66K theme-grouped photos with a mean aesthetic score on 0-10.

Files: `labels/merge/train.csv` and `labels/merge/test.csv`, header image, score (0-10), which
give the official split. Images live in `TAD66K/`. An image listed in both files is a
duplicate row.
"""

from __future__ import annotations

from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.tables import parse_score, read_csv, require_dir

INFO = DatabaseInfo(
    name="tad66k",
    title="TAD66K",
    kind=DatabaseKind.AESTHETICS,
    scale=ScoreScale(0.0, 10.0),
    splits=("train", "test"),
)
TRAIN_FILE = "labels/merge/train.csv"
TEST_FILE = "labels/merge/test.csv"
SPLIT_FILES = {"train": TRAIN_FILE, "test": TEST_FILE}
IMAGE_DIR = "TAD66K"
COLUMNS = ("image", "score")


def load_image_scores(
    root: Path, *, on_bad_row: OnBadRow | str = OnBadRow.RAISE, check_images: bool = True
) -> ImageScores:
    """Every image's mean score (0-10) normalised to [0, 1], split by the official files."""
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "TAD66K image folder")
    bad = BadRows(on_bad_row)

    rows = ImageRows(bad, check_images=check_images)
    split_of: dict[str, str] = {}
    for split, file_name in SPLIT_FILES.items():
        path = root / file_name
        for line, row in read_csv(path, COLUMNS):
            name = row["image"]
            if not name:
                bad.report(path, line, "empty image name")
                continue
            parsed = parse_score(row["score"], INFO.scale, bad, path, line, "score")
            if parsed is not None and rows.add(path, line, images / name, *parsed):
                split_of[name] = split

    splits = rows.split(lambda item: split_of[item.path.name], INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())
