"""KonIQ-10k (Hosu et al., 2020): 10,073 in-the-wild photos with crowd MOS on 1-5.

Files: `koniq10k_scores_and_distributions.csv` (image_name, c1..c5, c_total, MOS on 1-5, SD,
MOS_zscore) and the split file `koniq10k_distributions_sets.csv` (..., MOS on 0-100, set in
training/validation/test). Images live in `1024x768/`.
"""

from __future__ import annotations

from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.tables import parse_score, read_csv, require_dir

INFO = DatabaseInfo(
    name="koniq10k",
    title="KonIQ-10k",
    kind=DatabaseKind.QUALITY,
    scale=ScoreScale(1.0, 5.0),
    splits=("train", "validation", "test"),
)
SCORES_FILE = "koniq10k_scores_and_distributions.csv"
SETS_FILE = "koniq10k_distributions_sets.csv"
IMAGE_DIR = "1024x768"
_SETS = {"training": "train", "validation": "validation", "test": "test"}


def load_image_scores(
    root: Path, *, on_bad_row: OnBadRow | str = OnBadRow.RAISE, check_images: bool = True
) -> ImageScores:
    """Every image's MOS (1-5) normalised to [0, 1], split by the official set file."""
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "KonIQ-10k image folder")
    bad = BadRows(on_bad_row)

    sets_path = root / SETS_FILE
    split_of: dict[str, str] = {}
    for line, row in read_csv(sets_path, ("image_name", "set")):
        name, label = row["image_name"], row["set"]
        if label not in _SETS:
            bad.report(sets_path, line, f"set {label!r} is not one of {', '.join(_SETS)}")
        elif name in split_of:
            bad.report(sets_path, line, f"duplicate row for {name}")
        else:
            split_of[name] = _SETS[label]

    scores_path = root / SCORES_FILE
    rows = ImageRows(bad, check_images=check_images)
    for line, row in read_csv(scores_path, ("image_name", "MOS")):
        name = row["image_name"]
        if name not in split_of:
            bad.report(scores_path, line, f"{name} has no set in {SETS_FILE}")
            continue
        parsed = parse_score(row["MOS"], INFO.scale, bad, scores_path, line, "MOS")
        if parsed is not None:
            rows.add(scores_path, line, images / name, *parsed)

    splits = rows.split(lambda item: split_of[item.path.name], INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())
