"""SPAQ (Fang et al., 2020): 11,125 smartphone photos with MOS on 0-100.

Files: `Annotations/MOS and Image attribute scores.xlsx` (columns Image name, MOS, Brightness,
Colorfulness, Contrast, Noisiness, Sharpness; MOS on 0-100) or a CSV export of it with the same
columns, `Annotations/MOS and Image attribute scores.csv`; the .xlsx is read when both exist.
Images live in `TestImage/`. SPAQ publishes no split: a seeded fraction of the images is the
test split.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tastevec.common.datasets.bad_rows import BadRows, OnBadRow, where
from tastevec.common.datasets.image_rows import ImageRows
from tastevec.common.datasets.records import DatabaseInfo, DatabaseKind, ImageScores
from tastevec.common.datasets.score_scale import ScoreScale
from tastevec.common.datasets.splits import seeded_test_keys
from tastevec.common.datasets.tables import parse_score, read_csv, require_dir
from tastevec.common.errors import DatasetError

INFO = DatabaseInfo(
    name="spaq",
    title="SPAQ",
    kind=DatabaseKind.QUALITY,
    scale=ScoreScale(0.0, 100.0),
    splits=("train", "test"),
    official_splits=False,
)
XLSX_FILE = "Annotations/MOS and Image attribute scores.xlsx"
CSV_FILE = "Annotations/MOS and Image attribute scores.csv"
IMAGE_DIR = "TestImage"
COLUMNS = ("Image name", "MOS", "Brightness", "Colorfulness", "Contrast", "Noisiness", "Sharpness")
_NEEDED = ("Image name", "MOS")


def _cell_text(value: object) -> str:
    """A cell as text: openpyxl gives numbers as int/float, empty cells as None."""
    return "" if value is None else str(value).strip()


def _read_xlsx(path: Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, row) for each non-blank data row of the first sheet.

    Like `read_csv`: row 1 is the header, which must hold `columns`; a damaged workbook raises.
    """
    import openpyxl  # imported on use: only SPAQ's annotations need it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # exporters write wrong sizes; read every row there is
            table = [
                [_cell_text(value) for value in row]
                for row in sheet.iter_rows(min_row=1, values_only=True)
            ]
        finally:
            book.close()
    except Exception as exc:  # zip, XML and key errors all mean a workbook it cannot read
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        raise DatasetError(f"{path}: not a readable .xlsx workbook ({reason})") from None
    if not table:
        raise DatasetError(f"{path}: empty workbook, expected a header with {', '.join(columns)}")
    header = table[0]
    missing = [name for name in columns if name not in header]
    if missing:
        raise DatasetError(
            f"{where(path, 1)}: missing column(s) {', '.join(missing)} "
            f"(header has: {', '.join(header)})"
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(table[1:], start=2):
        if any(values):
            values += [""] * (len(header) - len(values))
            rows.append((number, dict(zip(header, values, strict=False))))
    return rows


def annotations_file(root: Path) -> Path:
    """The annotation table under `root`: the .xlsx, else its CSV export."""
    root = Path(root)
    for name in (XLSX_FILE, CSV_FILE):
        if (root / name).is_file():
            return root / name
    raise DatasetError(f"SPAQ annotations not found: {root / XLSX_FILE} or {root / CSV_FILE}")


def load_image_scores(
    root: Path,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    on_bad_row: OnBadRow | str = OnBadRow.RAISE,
    check_images: bool = True,
) -> ImageScores:
    """Every image's MOS (0-100) normalised to [0, 1]; a seeded `test_fraction` is "test"."""
    root = Path(root)
    images = require_dir(root / IMAGE_DIR, "SPAQ image folder")
    table = annotations_file(root)
    bad = BadRows(on_bad_row)
    table_rows: Iterable[tuple[int, dict[str, str]]] = (
        _read_xlsx(table, _NEEDED) if table.suffix == ".xlsx" else read_csv(table, _NEEDED)
    )
    rows = ImageRows(bad, check_images=check_images)
    for line, row in table_rows:
        name = row["Image name"]
        if not name:
            bad.report(table, line, "empty Image name")
            continue
        parsed = parse_score(row["MOS"], INFO.scale, bad, table, line, "MOS")
        if parsed is not None:
            rows.add(table, line, images / name, *parsed)

    test = seeded_test_keys((item.path.name for item in rows.items()), test_fraction, seed)
    splits = rows.split(lambda item: "test" if item.path.name in test else "train", INFO.splits)
    return ImageScores(INFO, root, splits, bad.skipped())
