"""AADB (Kong et al., 2016): 9,958 photos with an overall aesthetic score and 11 attributes.

Files: `imgListFiles_label/imgList{Train,Validation,Test,TestNew}Regression_<attribute>.txt`,
one `imgName score` per line, space-separated; `<attribute>` is `score` (overall, 0-1) or one
of `ATTRIBUTES` (-1..1). The test split is read from TestNew, the corrected list the papers
use; the old Test list is not read. Images live in `datasetImages_originalSize/`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.tables import parse_score, read_fields, require_dir
from tastevec.common.errors import DatasetError

INFO = DatabaseInfo(
    name="aadb",
    title="AADB",
    kind=DatabaseKind.AESTHETICS,
    scale=ScoreScale(0.0, 1.0),
    splits=("train", "validation", "test"),
)
LABEL_DIR = "imgListFiles_label"
IMAGE_DIR = "datasetImages_originalSize"
LIST_NAMES = {"train": "Train", "validation": "Validation", "test": "TestNew"}
OLD_TEST_LIST = "Test"  # superseded by TestNew; not read
SCORE = "score"
ATTRIBUTES = (
    "BalacingElements",  # sic: the distributed file name
    "ColorHarmony",
    "Content",
    "DoF",
    "Light",
    "MotionBlur",
    "Object",
    "Repetition",
    "RuleOfThirds",
    "Symmetry",
    "VividColor",
)
ATTRIBUTE_SCALE = ScoreScale(-1.0, 1.0)


def _check_attribute(attribute: str) -> None:
    if attribute != SCORE and attribute not in ATTRIBUTES:
        known = ", ".join((SCORE, *ATTRIBUTES))
        raise DatasetError(f"AADB has no attribute {attribute!r} (known: {known})")


def label_file(split: str, attribute: str = SCORE) -> str:
    """The root-relative label list of `split` for `attribute` ("score" or one of ATTRIBUTES)."""
    _check_attribute(attribute)
    if split not in LIST_NAMES:
        raise DatasetError(f"AADB has no split {split!r} (splits: {', '.join(LIST_NAMES)})")
    return f"{LABEL_DIR}/imgList{LIST_NAMES[split]}Regression_{attribute}.txt"


def load_image_scores(
    root: Path,
    *,
    attribute: str = SCORE,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every image's `attribute` normalised to [0, 1], split by the official lists.

    The overall score is on 0-1 (`INFO.scale`); an attribute is on -1..1 (`ATTRIBUTE_SCALE`),
    and the result's `info.scale` then says so.
    """
    root = Path(root)
    _check_attribute(attribute)
    info = INFO if attribute == SCORE else replace(INFO, scale=ATTRIBUTE_SCALE)
    images = require_dir(root / IMAGE_DIR, "AADB image folder")
    bad = BadRows(on_bad_row)

    rows = ImageRows(bad, check_images=check_images)
    split_of: dict[str, str] = {}
    for split in info.splits:
        path = root / label_file(split, attribute)
        for line, fields in read_fields(path):
            if len(fields) != 2:
                bad.report(path, line, f"expected 2 fields (imgName score), got {len(fields)}")
                continue
            name, text = fields
            parsed = parse_score(text, info.scale, bad, path, line, attribute)
            if parsed is not None and rows.add(path, line, images / name, *parsed):
                split_of[name] = split

    splits = rows.split(lambda item: split_of[item.path.name], info.splits)
    return ImageScores(info, root, splits, bad.skipped())
