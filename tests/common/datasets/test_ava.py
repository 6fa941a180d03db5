from pathlib import Path

import pytest

from tastevec.common.datasets import ava
from tastevec.common.errors import DatasetError

# The first line of AVA.txt as distributed: 124 votes with mean 699 / 124.
REAL_LINE = "1 953619 0 1 5 17 38 36 15 6 5 1 1 22 1396"


def line(index: int, image_id: str, counts: str, tail: str = "0 0 1396") -> str:
    return f"{index} {image_id} {counts} {tail}"


def write_ava(
    root: Path,
    lines: list[str],
    test_ids: list[str],
    image_dir: str = "images",
    images: bool = True,
) -> Path:
    """AVA as distributed: AVA.txt (no header) and the generic test list, one id a line."""
    (root / image_dir).mkdir(parents=True)
    (root / "AVA.txt").write_text("".join(f"{text}\n" for text in lines))
    (root / "aesthetics_image_lists").mkdir()
    (root / ava.TEST_LIST).write_text("".join(f"{text}\n" for text in test_ids))
    for text in lines if images else []:
        fields = text.split()
        if len(fields) > 1:
            (root / image_dir / f"{fields[1]}.jpg").write_bytes(b"jpeg")
    return root


def test_the_mean_vote_is_normalised_and_the_test_list_is_test(tmp_path: Path) -> None:
    root = write_ava(
        tmp_path,
        [
            REAL_LINE,
            line(2, "100", "7 0 0 0 0 0 0 0 0 0"),  # all 1s
            line(3, "101", "0 0 0 0 0 0 0 0 0 3"),  # all 10s
            line(4, "102", "1 0 0 0 0 0 0 0 0 1"),  # mean 5.5
            line(5, "103", "0 0 0 2 0 0 0 0 0 0"),  # mean 4
        ],
        ["101", "", "103"],
    )
    data = ava.load_image_scores(root)
    train = [(i.path.name, i.score, i.raw) for i in data.split("train")]
    assert train[1:] == [("100.jpg", 0.0, 1.0), ("102.jpg", 0.5, 5.5)]
    assert train[0][0] == "953619.jpg" and train[0][2] == 699 / 124
    assert train[0][1] == pytest.approx((699 - 124) / (124 * 9), abs=1e-15)
    assert [(i.path.name, i.score) for i in data.split("test")] == [
        ("101.jpg", 1.0),
        ("103.jpg", 1 / 3),
    ]
    assert data.split("test")[0].path == root / "images" / "101.jpg"
    assert len(data) == 5 and data.skipped == ()


def test_the_image_folder_is_a_parameter(tmp_path: Path) -> None:
    root = write_ava(tmp_path, [REAL_LINE], [], image_dir="AVA_dataset/images")
    data = ava.load_image_scores(root, image_dir="AVA_dataset/images")
    assert data.split("train")[0].path == root / "AVA_dataset" / "images" / "953619.jpg"
    with pytest.raises(DatasetError, match=r"AVA image folder not found: .*/images"):
        ava.load_image_scores(root)


def test_vote_histograms_give_each_ids_counts(tmp_path: Path) -> None:
    (tmp_path / "AVA.txt").write_text(f"{REAL_LINE}\n{line(2, '100', '7 0 0 0 0 0 0 0 0 0')}\n")
    assert ava.vote_histograms(tmp_path) == {
        "953619": (0, 1, 5, 17, 38, 36, 15, 6, 5, 1),
        "100": (7, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    }


def test_vote_histograms_report_and_skip_bad_rows(tmp_path: Path) -> None:
    (tmp_path / "AVA.txt").write_text(
        f"{REAL_LINE}\n{line(2, '953619', '1 0 0 0 0 0 0 0 0 0')}\n{line(3, '7', '0 ' * 10)}\n"
    )
    with pytest.raises(DatasetError, match=r"AVA\.txt:2: duplicate row for 953619 \(first at "):
        ava.vote_histograms(tmp_path)
    assert list(ava.vote_histograms(tmp_path, on_bad_row="skip")) == ["953619"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2 100 1 2 3 4 5 6 7 8 9 10 0 0", "expected 15 fields, got 14"),
        ("2 100 1 2 3 4 5 6 7 8 9 10 0 0 1396 9", "expected 15 fields, got 16"),
        (line(2, "100", "1 2 3 4 5 6 7 8 9 -1"), "vote counts 1 2 .* 9 -1 are not non-negative"),
        (line(2, "100", "1 2 3 4 5 6 7 8 9 1.0"), "vote counts .* 1.0 are not non-negative"),
        (line(2, "100", "1 2 3 4 5 6 7 8 9 x"), "vote counts .* x are not non-negative integers"),
        (line(2, "100", "0 0 0 0 0 0 0 0 0 0"), "image 100 has no votes"),
        (line(2, "953619", "0 0 0 0 0 0 0 0 0 1"), "duplicate row for 953619.jpg"),
    ],
)
def test_a_bad_line_names_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    root = write_ava(tmp_path, [REAL_LINE, text], [])
    with pytest.raises(DatasetError, match=rf"AVA\.txt:2: {message}"):
        ava.load_image_scores(root)


@pytest.mark.parametrize(
    ("test_id", "message"),
    [
        ("555", "image id 555 is not in AVA.txt"),
        ("953619", "duplicate image id 953619"),
        ("100 101", "expected 1 image id, got 2 fields"),
    ],
)
def test_a_bad_test_list_line_names_file_and_line(
    tmp_path: Path, test_id: str, message: str
) -> None:
    root = write_ava(tmp_path, [REAL_LINE], ["953619", test_id])
    with pytest.raises(DatasetError, match=rf"generic_test\.jpgl:2: {message}"):
        ava.load_image_scores(root)


def test_bad_lines_can_be_skipped_and_counted(tmp_path: Path) -> None:
    root = write_ava(
        tmp_path,
        [REAL_LINE, line(2, "100", "0 " * 10), "3 101 1", line(4, "102", "0 0 0 0 0 0 0 0 0 9")],
        ["100", "555", "102"],  # 100's line is bad: left out without a second report
    )
    data = ava.load_image_scores(root, on_bad_row="skip")
    assert [(i.path.name, i.score) for i in data.split("test")] == [("102.jpg", 1.0)]
    assert [i.path.name for i in data.split("train")] == ["953619.jpg"]
    assert [row.where.rsplit("/", 1)[1] for row in data.skipped] == [
        "AVA.txt:2",
        "AVA.txt:3",
        "generic_test.jpgl:2",
    ]


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_ava(tmp_path, [REAL_LINE], [], images=False)
    with pytest.raises(
        DatasetError, match=r"AVA\.txt:1: image .*953619\.jpg is listed but missing"
    ):
        ava.load_image_scores(root)
    assert len(ava.load_image_scores(root, check_images=False)) == 1


def test_missing_files_are_errors(tmp_path: Path) -> None:
    root = write_ava(tmp_path, [REAL_LINE], [])
    (root / ava.TEST_LIST).unlink()
    with pytest.raises(DatasetError, match=r"not found: .*generic_test\.jpgl"):
        ava.load_image_scores(root)
    (root / ava.SCORES_FILE).unlink()
    with pytest.raises(DatasetError, match=r"not found: .*AVA\.txt"):
        ava.load_image_scores(root)
    with pytest.raises(DatasetError, match=r"not found: .*AVA\.txt"):
        ava.vote_histograms(root)
