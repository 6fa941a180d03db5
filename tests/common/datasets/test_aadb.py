from pathlib import Path

import pytest

from tastevec.common.datasets import aadb
from tastevec.common.datasets.records import ScoredImage
from tastevec.common.errors import DatasetError

LISTS = {"train": "Train", "validation": "Validation", "test": "TestNew"}


def write_aadb(
    root: Path, lists: dict[str, list[str]], attribute: str = "score", images: bool = True
) -> Path:
    """AADB as distributed: imgList<List>Regression_<attribute>.txt holding `imgName score` lines.

    `lists` is keyed by the list name (Train, Validation, Test, TestNew).
    """
    (root / "imgListFiles_label").mkdir(parents=True, exist_ok=True)
    (root / "datasetImages_originalSize").mkdir(exist_ok=True)
    for list_name, lines in lists.items():
        path = root / "imgListFiles_label" / f"imgList{list_name}Regression_{attribute}.txt"
        path.write_text("".join(f"{line}\n" for line in lines))
        for line in lines if images else []:
            fields = line.split()
            if fields:
                (root / "datasetImages_originalSize" / fields[0]).write_bytes(b"jpeg")
    return root


def names_and_scores(items: tuple[ScoredImage, ...]) -> list[tuple[str, float, float]]:
    return [(i.path.name, i.score, i.raw) for i in items]


def test_the_overall_score_is_split_by_the_lists_and_test_is_testnew(tmp_path: Path) -> None:
    root = write_aadb(
        tmp_path,
        {
            "Train": ["farm1_1.jpg 0.35", "farm1_2.jpg 1"],
            "Validation": ["farm1_3.jpg 0"],
            "Test": ["farm1_9.jpg not-read"],  # the superseded list
            "TestNew": ["farm1_4.jpg 0.6", "", "farm1_5.jpg 0.125"],
        },
    )
    data = aadb.load_image_scores(root)
    assert names_and_scores(data.split("train")) == [
        ("farm1_1.jpg", 0.35, 0.35),
        ("farm1_2.jpg", 1.0, 1.0),
    ]
    assert names_and_scores(data.split("validation")) == [("farm1_3.jpg", 0.0, 0.0)]
    assert names_and_scores(data.split("test")) == [
        ("farm1_4.jpg", 0.6, 0.6),
        ("farm1_5.jpg", 0.125, 0.125),
    ]
    assert data.split("test")[0].path == root / "datasetImages_originalSize" / "farm1_4.jpg"
    assert data.info == aadb.INFO and data.skipped == ()


def test_an_attribute_is_read_from_its_own_files_on_minus_one_to_one(tmp_path: Path) -> None:
    root = write_aadb(
        tmp_path,
        {"Train": ["a.jpg -1", "b.jpg 0.5"], "Validation": ["c.jpg 0"], "TestNew": ["d.jpg 1"]},
        attribute="ColorHarmony",
    )
    data = aadb.load_image_scores(root, attribute="ColorHarmony")
    assert names_and_scores(data.split("train")) == [("a.jpg", 0.0, -1.0), ("b.jpg", 0.75, 0.5)]
    assert names_and_scores(data.split("validation")) == [("c.jpg", 0.5, 0.0)]
    assert names_and_scores(data.split("test")) == [("d.jpg", 1.0, 1.0)]
    assert data.info.scale == aadb.ATTRIBUTE_SCALE and data.info.name == "aadb"
    with pytest.raises(DatasetError, match=r"not found: .*imgListTrainRegression_score\.txt"):
        aadb.load_image_scores(root)


def test_an_unknown_attribute_lists_the_known_ones(tmp_path: Path) -> None:
    root = write_aadb(tmp_path, {"Train": [], "Validation": [], "TestNew": []})
    with pytest.raises(
        DatasetError,
        match=r"no attribute 'Balance' \(known: score, BalacingElements, .*VividColor\)",
    ):
        aadb.load_image_scores(root, attribute="Balance")


def test_label_file_names_the_distributed_files() -> None:
    assert aadb.label_file("test") == "imgListFiles_label/imgListTestNewRegression_score.txt"
    assert (
        aadb.label_file("validation", "DoF")
        == "imgListFiles_label/imgListValidationRegression_DoF.txt"
    )
    with pytest.raises(DatasetError, match="no split 'val'"):
        aadb.label_file("val")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("b.jpg high", "score 'high' is not a number"),
        ("b.jpg 1.2", "score 1.2 is outside the scale 0..1"),
        ("b.jpg -0.5", "score -0.5 is outside the scale 0..1"),
        ("b.jpg", "expected 2 fields \\(imgName score\\), got 1"),
        ("b.jpg 0.5 0.6", "expected 2 fields \\(imgName score\\), got 3"),
        ("a.jpg 0.5", "duplicate row for a.jpg \\(first at .*Train.*:1\\)"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    root = write_aadb(
        tmp_path, {"Train": ["a.jpg 0.5"], "Validation": ["c.jpg 0.1", line], "TestNew": []}
    )
    with pytest.raises(DatasetError, match=rf"imgListValidationRegression_score\.txt:2: {message}"):
        aadb.load_image_scores(root)


def test_bad_lines_can_be_skipped_and_counted(tmp_path: Path) -> None:
    root = write_aadb(
        tmp_path,
        {"Train": ["a.jpg 0.5", "b.jpg", "a.jpg 0.2"], "Validation": ["c.jpg x"], "TestNew": []},
    )
    data = aadb.load_image_scores(root, on_bad_row="skip")
    assert names_and_scores(data.split("train")) == [("a.jpg", 0.5, 0.5)]
    assert data.split("validation") == () and data.split("test") == ()
    assert [row.where.rsplit("/", 1)[1] for row in data.skipped] == [
        "imgListTrainRegression_score.txt:2",
        "imgListTrainRegression_score.txt:3",
        "imgListValidationRegression_score.txt:1",
    ]


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_aadb(
        tmp_path, {"Train": [], "Validation": [], "TestNew": ["a.jpg 0.5"]}, images=False
    )
    with pytest.raises(DatasetError, match=r"TestNewRegression_score\.txt:1: image .*a\.jpg is"):
        aadb.load_image_scores(root)
    assert len(aadb.load_image_scores(root, check_images=False)) == 1
