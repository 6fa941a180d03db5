from pathlib import Path

import openpyxl
import pytest

from tastevec.common.datasets import spaq
from tastevec.common.datasets.records import ImageScores
from tastevec.common.datasets.splits import seeded_test_keys
from tastevec.common.errors import DatasetError

HEADER = list(spaq.COLUMNS)


def attributes(mos: object) -> list[object]:
    """The five attribute columns SPAQ carries after MOS (not read by the loader)."""
    return [mos, 40.5, 52, 60.25, 20, 70]


def write_images(root: Path, names: list[str]) -> None:
    (root / "TestImage").mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / "TestImage" / name).write_bytes(b"jpeg")


def write_xlsx(root: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    """The annotation workbook as distributed: a header row, then one row per image."""
    path = root / spaq.XLSX_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def write_csv(root: Path, lines: list[str], header: str = ",".join(HEADER)) -> Path:
    path = root / spaq.CSV_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in [header, *lines]))
    return path


def all_items(data: ImageScores) -> list[tuple[str, float, float]]:
    return sorted((i.path.name, i.score, i.raw) for items in data.splits.values() for i in items)


def test_xlsx_scores_of_any_cell_type_are_normalised(tmp_path: Path) -> None:
    write_images(tmp_path, ["00001.png", "00002.png", "00003.png", "00004.png"])
    write_xlsx(
        tmp_path,
        [
            ["00001.png", *attributes(0)],  # an int cell
            ["00002.png", *attributes(50.5)],  # a float cell
            [],  # a blank row is skipped
            ["00003.png", *attributes(" 100 ")],  # a text cell
            ["00004.png", *attributes(25)],
        ],
    )
    data = spaq.load_image_scores(tmp_path, test_fraction=0.0)
    assert all_items(data) == [
        ("00001.png", 0.0, 0.0),
        ("00002.png", 0.505, 50.5),
        ("00003.png", 1.0, 100.0),
        ("00004.png", 0.25, 25.0),
    ]
    assert data.split("train")[0].path == tmp_path / "TestImage" / "00001.png"
    assert data.split("test") == () and data.skipped == ()
    assert data.info.official_splits is False


def test_the_csv_export_is_read_when_there_is_no_xlsx(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.jpg", "b.jpg"])
    write_csv(tmp_path, ["a.jpg,75,1,2,3,4,5", "b.jpg,12.5,1,2,3,4,5"])
    data = spaq.load_image_scores(tmp_path, test_fraction=0.0)
    assert all_items(data) == [("a.jpg", 0.75, 75.0), ("b.jpg", 0.125, 12.5)]


def test_the_xlsx_wins_when_both_exist(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.jpg"])
    write_xlsx(tmp_path, [["a.jpg", *attributes(80)]])
    write_csv(tmp_path, ["a.jpg,20,1,2,3,4,5"])
    assert all_items(spaq.load_image_scores(tmp_path)) == [("a.jpg", 0.8, 80.0)]


def test_no_annotations_names_both_files(tmp_path: Path) -> None:
    write_images(tmp_path, [])
    with pytest.raises(DatasetError, match=r"scores\.xlsx or .*scores\.csv"):
        spaq.load_image_scores(tmp_path)


def test_the_split_is_a_seeded_fraction_of_the_images(tmp_path: Path) -> None:
    names = [f"{k:05d}.png" for k in range(1, 11)]
    write_images(tmp_path, names)
    write_xlsx(tmp_path, [[name, *attributes(10 * k)] for k, name in enumerate(names)])
    data = spaq.load_image_scores(tmp_path)
    test = {i.path.name for i in data.split("test")}
    assert test == seeded_test_keys(names, 0.2, 0) and len(test) == 2
    assert {i.path.name for i in data.split("train")} == set(names) - test
    again = spaq.load_image_scores(tmp_path, test_fraction=0.5, seed=3)
    assert {i.path.name for i in again.split("test")} == seeded_test_keys(names, 0.5, 3)
    with pytest.raises(DatasetError, match="test_fraction must lie in"):
        spaq.load_image_scores(tmp_path, test_fraction=1.5)


@pytest.mark.parametrize(
    ("mos", "message"),
    [
        ("high", "MOS 'high' is not a number"),
        (100.5, "MOS 100.5 is outside the scale 0..100"),
        (-1, "MOS -1 is outside the scale 0..100"),
        (None, "MOS '' is not a number"),
    ],
)
def test_a_bad_xlsx_score_names_the_spreadsheet_row(
    tmp_path: Path, mos: object, message: str
) -> None:
    write_images(tmp_path, ["a.jpg", "b.jpg"])
    write_xlsx(tmp_path, [["a.jpg", *attributes(50)], [], ["b.jpg", *attributes(mos)]])
    with pytest.raises(DatasetError, match=rf"scores\.xlsx:4: {message}"):
        spaq.load_image_scores(tmp_path)


def test_a_bad_csv_score_names_the_line(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.jpg", "b.jpg"])
    write_csv(tmp_path, ["a.jpg,50,1,2,3,4,5", "b.jpg,nan,1,2,3,4,5"])
    with pytest.raises(DatasetError, match=r"scores\.csv:3: MOS nan is outside the scale"):
        spaq.load_image_scores(tmp_path)


def test_bad_rows_can_be_skipped_and_counted(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.jpg", "b.jpg"])
    write_xlsx(
        tmp_path,
        [
            ["a.jpg", *attributes(50)],
            ["a.jpg", *attributes(60)],  # duplicate
            [None, *attributes(60)],  # no name
            ["b.jpg", *attributes("n/a")],
            ["gone.jpg", *attributes(10)],  # listed, no file
        ],
    )
    data = spaq.load_image_scores(tmp_path, on_bad_row="skip", test_fraction=0.0)
    assert all_items(data) == [("a.jpg", 0.5, 50.0)]
    assert [str(row).split(": ", 1)[1] for row in data.skipped] == [
        "duplicate row for a.jpg (first at " + str(tmp_path / spaq.XLSX_FILE) + ":2)",
        "empty Image name",
        "MOS 'n/a' is not a number",
        f"image {tmp_path / 'TestImage' / 'gone.jpg'} is listed but missing",
    ]
    assert [row.where.rsplit(":", 1)[1] for row in data.skipped] == ["3", "4", "5", "6"]


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    write_images(tmp_path, [])
    write_xlsx(tmp_path, [["a.jpg", *attributes(50)]])
    with pytest.raises(DatasetError, match=r"scores\.xlsx:2: image .*a\.jpg is listed but missing"):
        spaq.load_image_scores(tmp_path)
    assert len(spaq.load_image_scores(tmp_path, check_images=False)) == 1


def test_a_missing_column_is_an_error_naming_the_header(tmp_path: Path) -> None:
    write_images(tmp_path, ["a.jpg"])
    write_xlsx(tmp_path, [["a.jpg", 50]], header=["Image name", "Mean"])
    with pytest.raises(DatasetError, match=r"scores\.xlsx:1: missing column\(s\) MOS"):
        spaq.load_image_scores(tmp_path)
    (tmp_path / spaq.XLSX_FILE).unlink()
    write_csv(tmp_path, ["50"], header="MOS")
    with pytest.raises(DatasetError, match=r"scores\.csv:1: missing column\(s\) Image name"):
        spaq.load_image_scores(tmp_path)


def test_a_damaged_workbook_is_an_error_naming_it(tmp_path: Path) -> None:
    write_images(tmp_path, [])
    path = tmp_path / spaq.XLSX_FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(b"Image name,MOS\n")  # a CSV saved under the .xlsx name
    with pytest.raises(DatasetError, match=r"scores\.xlsx: not a readable \.xlsx workbook"):
        spaq.load_image_scores(tmp_path)
