"""LIVE In the Wild (CLIVE; Ghadiyaram & Bovik, 2016): 1,169 photos with crowd MOS on 0-100.

Files: `Data/AllImages_release.mat` (variable AllImages_release, an N x 1 cell array of file
names) and `Data/AllMOS_release.mat` (variable AllMOS_release, 1 x N MOS on 0-100);
`Data/AllStdDev_release.mat` is not read. Images live in `Images/`. The first 7 entries are
training images (kept, when asked, from `Images/` or `Images/trainingImages/`) and are dropped
by default (1,162 remain). A bad entry is reported as
"file:index", its 1-based index in the arrays. CLIVE publishes no split: a seeded fraction of
the images is the test split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.splits import seeded_test_keys
from tastevec.common.datasets.tables import parse_score, require_dir, require_file
from tastevec.common.errors import DatasetError

INFO = DatabaseInfo(
    name="live_itw",
    title="LIVE In the Wild (CLIVE)",
    kind=DatabaseKind.QUALITY,
    scale=ScoreScale(0.0, 100.0),
    splits=("train", "test"),
    official_splits=False,
)
NAMES_FILE = "Data/AllImages_release.mat"
MOS_FILE = "Data/AllMOS_release.mat"
STDDEV_FILE = "Data/AllStdDev_release.mat"  # distributed alongside; not read
NAMES_VARIABLE = "AllImages_release"
MOS_VARIABLE = "AllMOS_release"
IMAGE_DIR = "Images"
TRAINING_IMAGE_DIR = "trainingImages"  # inside IMAGE_DIR
TRAINING_ENTRIES = 7  # the leading entries that are training images


def _variable(path: Path, variable: str) -> np.ndarray:
    """`variable` from the MATLAB file at `path`; a damaged file or a missing variable raises."""
    import scipy.io  # imported on use: only CLIVE's labels need it

    require_file(path, "LIVE-itW MATLAB file")
    try:
        contents = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises ValueError, MatReadError, ... on a damaged file
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        raise DatasetError(f"{path}: not a readable MATLAB file ({reason})") from None
    if variable not in contents:
        found = ", ".join(key for key in contents if not key.startswith("__")) or "none"
        raise DatasetError(f"{path}: no variable {variable!r} (variables: {found})")
    return np.asarray(contents[variable])


def _file_name(entry: object) -> str:
    """A cell's file name (a one-element char array, or a str); "" when it holds none."""
    if isinstance(entry, np.ndarray):
        if entry.dtype.kind != "U" or entry.size != 1:
            return ""
        entry = entry.item()
    return entry.strip() if isinstance(entry, str) else ""


def load_image_scores(
    root: Path,
    *,
    drop_first: int = TRAINING_ENTRIES,
    test_fraction: float = 0.2,
    seed: int = 0,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every image's MOS (0-100) normalised to [0, 1], less the first `drop_first` entries.

    A seeded `test_fraction` of the images is "test".
    """
    root = Path(root)
    if drop_first < 0:
        raise DatasetError(f"drop_first must be >= 0, got {drop_first}")
    images = require_dir(root / IMAGE_DIR, "LIVE-itW image folder")
    names_path, mos_path = root / NAMES_FILE, root / MOS_FILE
    names = _variable(names_path, NAMES_VARIABLE).ravel()
    mos = _variable(mos_path, MOS_VARIABLE).ravel()
    if names.dtype.kind not in "OU":
        raise DatasetError(f"{names_path}: {NAMES_VARIABLE} is not a cell array of file names")
    if mos.dtype.kind not in "iuf":
        raise DatasetError(f"{mos_path}: {MOS_VARIABLE} is not a numeric array")
    if len(names) != len(mos):
        raise DatasetError(
            f"{mos_path}: {len(mos)} scores in {MOS_VARIABLE}, but {names_path} has "
            f"{len(names)} names in {NAMES_VARIABLE}"
        )

    bad = BadRows(on_bad_row)
    rows = ImageRows(bad, check_images=check_images)
    for index in range(drop_first + 1, len(names) + 1):
        name = _file_name(names[index - 1])
        if not name:
            bad.report(names_path, index, f"entry {index} of {NAMES_VARIABLE} is not a file name")
            continue
        raw = str(float(mos[index - 1]))
        parsed = parse_score(raw, INFO.scale, bad, mos_path, index, "MOS")
        if parsed is not None:
            path = images / name
            if index <= TRAINING_ENTRIES and not path.is_file():
                # The release keeps its 7 training images in a subfolder of their own.
                path = images / TRAINING_IMAGE_DIR / name
            rows.add(names_path, index, path, *parsed)

    test = seeded_test_keys((item.path.name for item in rows.items()), test_fraction, seed)
    splits = rows.split(lambda item: "test" if item.path.name in test else "train", INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())
