"""KADID-10k (Lin et al., 2019): 10,125 distorted images of 81 references, DMOS on 1-5.

File: `dmos.csv` with header dist_img, ref_img, dmos (1-5, higher is better), var. Images,
distorted and reference, live in `images/`. KADID-10k publishes no split: a seeded fraction of
the REFERENCE images is the test split, and every distorted version goes with its reference,
so no content is in both splits.
"""

from __future__ import annotations

from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.splits import seeded_test_keys
from tastevec.common.datasets.tables import parse_score, read_csv, require_dir

INFO = DatabaseInfo(
    name="kadid10k",
    title="KADID-10k",
    kind=DatabaseKind.QUALITY,
    scale=ScoreScale(1.0, 5.0),
    splits=("train", "test"),
    official_splits=False,
)
SCORES_FILE = "dmos.csv"
IMAGE_DIR = "images"
COLUMNS = ("dist_img", "ref_img", "dmos", "var")


def load_image_scores(
    root: Path,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every distorted image's DMOS (1-5) normalised to [0, 1], split by reference image.

    `test_fraction` of the references (seeded by `seed`) and all their distortions are "test".
    """
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "KADID-10k image folder")
    bad = BadRows(on_bad_row)

    path = root / SCORES_FILE
    rows = ImageRows(bad, check_images=check_images)
    reference_of: dict[str, str] = {}
    for line, row in read_csv(path, ("dist_img", "ref_img", "dmos")):
        name, reference = row["dist_img"], row["ref_img"]
        if not name or not reference:
            bad.report(path, line, "empty dist_img or ref_img")
            continue
        parsed = parse_score(row["dmos"], INFO.scale, bad, path, line, "dmos")
        if parsed is not None and rows.add(path, line, images / name, *parsed):
            reference_of[name] = reference

    test = seeded_test_keys(reference_of.values(), test_fraction, seed)
    splits = rows.split(
        lambda item: "test" if reference_of[item.path.name] in test else "train", INFO.splits
    )
    return ImageScores(INFO, root, splits, bad.skipped())
