from pathlib import Path

import pytest

from tastevec.common.datasets import tad66k
from tastevec.common.errors import DatasetError


def write_tad(
    root: Path,
    train: list[tuple[str, str]],
    test: list[tuple[str, str]],
    images: bool = True,
) -> Path:
    """TAD66K as distributed: labels/merge/{train,test}.csv with header image,score."""
    (root / "TAD66K").mkdir(parents=True)
    (root / "labels" / "merge").mkdir(parents=True)
    for file_name, rows in ((tad66k.TRAIN_FILE, train), (tad66k.TEST_FILE, test)):
        lines = ["image,score\n"] + [f"{name},{score}\n" for name, score in rows]
        (root / file_name).write_text("".join(lines))
        if images:
            for name, _ in rows:
                if name:
                    (root / "TAD66K" / name).write_bytes(b"jpeg")
    return root


def test_scores_are_normalised_and_split_by_the_official_files(tmp_path: Path) -> None:
    root = write_tad(
        tmp_path,
        [("1.jpg", "0"), ("2.jpg", "5.5"), ("3.jpg", "10")],
        [("4.jpg", "2.5"), ("5.jpg", "7.25")],
    )
    data = tad66k.load_image_scores(root)
    assert [(i.path.name, i.score, i.raw) for i in data.split("train")] == [
        ("1.jpg", 0.0, 0.0),
        ("2.jpg", 0.55, 5.5),
        ("3.jpg", 1.0, 10.0),
    ]
    assert [(i.path.name, i.score) for i in data.split("test")] == [
        ("4.jpg", 0.25),
        ("5.jpg", 0.725),
    ]
    assert data.split("test")[0].path == root / "TAD66K" / "4.jpg"
    assert len(data) == 5 and data.skipped == ()
    assert data.info.splits == ("train", "test") and data.info.official_splits


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("good", "score 'good' is not a number"),
        ("10.5", "score 10.5 is outside the scale 0..10"),
        ("-0.1", "score -0.1 is outside the scale 0..10"),
        ("", "score '' is not a number"),
    ],
)
def test_a_bad_score_names_file_and_line(tmp_path: Path, score: str, message: str) -> None:
    root = write_tad(tmp_path, [("1.jpg", "5")], [("2.jpg", "5"), ("3.jpg", score)])
    with pytest.raises(DatasetError, match=rf"merge/test\.csv:3: {message}"):
        tad66k.load_image_scores(root)


def test_an_image_in_both_files_is_a_duplicate(tmp_path: Path) -> None:
    root = write_tad(tmp_path, [("1.jpg", "5")], [("2.jpg", "5"), ("1.jpg", "6")])
    with pytest.raises(
        DatasetError, match=r"test\.csv:3: duplicate row for 1\.jpg \(first at .*train\.csv:2\)"
    ):
        tad66k.load_image_scores(root)


def test_bad_rows_can_be_skipped_and_counted(tmp_path: Path) -> None:
    root = write_tad(
        tmp_path,
        [("1.jpg", "5"), ("1.jpg", "6"), ("", "4")],
        [("1.jpg", "7"), ("2.jpg", "nan"), ("3.jpg", "2")],
    )
    data = tad66k.load_image_scores(root, on_bad_row="skip")
    assert [(i.path.name, i.score) for i in data.split("train")] == [("1.jpg", 0.5)]
    assert [(i.path.name, i.score) for i in data.split("test")] == [("3.jpg", 0.2)]
    assert [row.where.rsplit("/", 1)[1] for row in data.skipped] == [
        "train.csv:3",
        "train.csv:4",
        "test.csv:2",
        "test.csv:3",
    ]
    assert data.skipped[1].reason == "empty image name"


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_tad(tmp_path, [("1.jpg", "5")], [], images=False)
    with pytest.raises(DatasetError, match=r"train\.csv:2: image .*1\.jpg is listed but missing"):
        tad66k.load_image_scores(root)
    assert len(tad66k.load_image_scores(root, check_images=False)) == 1


def test_missing_files_and_columns_are_errors(tmp_path: Path) -> None:
    root = write_tad(tmp_path, [("1.jpg", "5")], [("2.jpg", "5")])
    (root / tad66k.TEST_FILE).write_text("image,mean\n2.jpg,5\n")
    with pytest.raises(DatasetError, match=r"test\.csv:1: missing column\(s\) score"):
        tad66k.load_image_scores(root)
    (root / tad66k.TEST_FILE).unlink()
    with pytest.raises(DatasetError, match=r"not found: .*merge/test\.csv"):
        tad66k.load_image_scores(root)
