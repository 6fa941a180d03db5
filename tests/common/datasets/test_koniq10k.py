from pathlib import Path

import pytest

from tastevec.common.datasets import koniq10k
from tastevec.common.errors import DatasetError

SCORES_HEADER = "image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,MOS_zscore\n"
SETS_HEADER = "image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,set\n"


def write_koniq(root: Path, rows: list[tuple[str, str, str]], images: bool = True) -> Path:
    """KonIQ-10k as distributed: rows are (image_name, MOS on 1-5, set)."""
    (root / "1024x768").mkdir(parents=True)
    scores = [SCORES_HEADER]
    sets = [SETS_HEADER]
    for name, mos, split in rows:
        scores.append(f"{name},1,2,3,4,5,15,{mos},0.7,55.1\n")
        sets.append(
            f"{name},1,2,3,4,5,15,{float(mos) * 20 if mos[0].isdigit() else 0},0.7,{split}\n"
        )
        if images:
            (root / "1024x768" / name).write_bytes(b"jpeg")
    (root / koniq10k.SCORES_FILE).write_text("".join(scores))
    (root / koniq10k.SETS_FILE).write_text("".join(sets))
    return root


def test_scores_are_normalised_and_split_by_the_set_file(tmp_path: Path) -> None:
    root = write_koniq(
        tmp_path,
        [
            ("a.jpg", "1.0", "training"),
            ("b.jpg", "5.0", "test"),
            ("c.jpg", "3.0", "validation"),
            ("d.jpg", "2.0", "training"),
        ],
    )
    data = koniq10k.load_image_scores(root)
    assert [(i.path.name, i.score, i.raw) for i in data.split("train")] == [
        ("a.jpg", 0.0, 1.0),
        ("d.jpg", 0.25, 2.0),
    ]
    assert [(i.path.name, i.score) for i in data.split("test")] == [("b.jpg", 1.0)]
    assert [(i.path.name, i.score) for i in data.split("validation")] == [("c.jpg", 0.5)]
    assert data.split("test")[0].path == root / "1024x768" / "b.jpg"
    assert len(data) == 4 and data.skipped == ()


@pytest.mark.parametrize(
    ("mos", "message"),
    [("high", "MOS 'high' is not a number"), ("5.5", "MOS 5.5 is outside the scale 1..5")],
)
def test_a_bad_score_names_file_and_line(tmp_path: Path, mos: str, message: str) -> None:
    root = write_koniq(tmp_path, [("a.jpg", "2.0", "training"), ("b.jpg", mos, "test")])
    with pytest.raises(DatasetError, match=rf"{koniq10k.SCORES_FILE}:3: {message}"):
        koniq10k.load_image_scores(root)


def test_bad_rows_can_be_skipped_and_counted(tmp_path: Path) -> None:
    root = write_koniq(
        tmp_path, [("a.jpg", "2.0", "training"), ("b.jpg", "nan", "test"), ("a.jpg", "3", "test")]
    )
    data = koniq10k.load_image_scores(root, on_bad_row="skip")
    assert [i.path.name for i in data.split("train")] == ["a.jpg"]
    assert len(data.skipped) == 3  # the duplicate in the set file and in the scores file, and nan
    assert "duplicate row for a.jpg" in str(data.skipped[0])


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_koniq(tmp_path, [("a.jpg", "2.0", "training")], images=False)
    with pytest.raises(DatasetError, match=r":2: image .*a.jpg is listed but missing"):
        koniq10k.load_image_scores(root)
    assert len(koniq10k.load_image_scores(root, check_images=False)) == 1


def test_a_missing_column_is_an_error_naming_the_header(tmp_path: Path) -> None:
    root = write_koniq(tmp_path, [("a.jpg", "2.0", "training")])
    (root / koniq10k.SCORES_FILE).write_text("image_name,SD\na.jpg,0.5\n")
    with pytest.raises(DatasetError, match=r"distributions.csv:1: missing column\(s\) MOS"):
        koniq10k.load_image_scores(root)


def test_an_unknown_set_label_is_an_error(tmp_path: Path) -> None:
    root = write_koniq(tmp_path, [("a.jpg", "2.0", "train")])
    with pytest.raises(DatasetError, match=r"sets.csv:2: set 'train' is not one of"):
        koniq10k.load_image_scores(root)
