from pathlib import Path

import pytest

from tastevec.common.datasets import flickr_aes
from tastevec.common.datasets.records import PeopleRatings
from tastevec.common.errors import DatasetError

WORKER_HEADER = "worker, imagePair, score\n"  # as distributed: leading spaces in the header


def write_flickr(
    root: Path,
    ratings: list[tuple[str, str, str]],
    scores: list[str],
    images: bool = True,
) -> Path:
    """FLICKR-AES as distributed: ratings are (worker, image, score); scores are .txt lines."""
    (root / "40K").mkdir(parents=True, exist_ok=True)
    lines = [WORKER_HEADER] + [f"{w}, {image}, {score}\n" for w, image, score in ratings]
    (root / flickr_aes.WORKER_FILE).write_text("".join(lines))
    (root / flickr_aes.SCORES_FILE).write_text("".join(f"{line}\n" for line in scores))
    if images:
        names = {image for _, image, _ in ratings if image} | {line.split()[0] for line in scores}
        for name in names:
            (root / "40K" / name).write_bytes(b"jpeg")
    return root


RATINGS = [
    ("A1", "farm1_1.jpg", "1"),
    ("A1", "farm1_2.jpg", "4"),
    ("B2", "farm1_2.jpg", "5"),
    ("C3", "farm1_3.jpg", "2"),
]
SCORES = [" farm1_1.jpg 2.0", "farm1_2.jpg 4.5", " farm1_3.jpg 3", "farm1_4.jpg 1"]


def people_of(data: PeopleRatings, split: str) -> list[str]:
    return [entry.person for entry in data.split(split)]


def test_worker_ratings_are_normalised_and_split_by_the_given_workers(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES)
    data = flickr_aes.load_people_ratings(root, test_workers=["B2"])
    assert data.info.has_people and not data.info.official_splits
    assert people_of(data, "train") == ["A1", "C3"]
    assert people_of(data, "test") == ["B2"]
    assert [(i.path, i.score, i.raw) for i in data.person("A1").ratings] == [
        (root / "40K" / "farm1_1.jpg", 0.0, 1.0),
        (root / "40K" / "farm1_2.jpg", 0.75, 4.0),
    ]
    assert [(i.score, i.raw) for i in data.person("B2").ratings] == [(1.0, 5.0)]
    assert data.skipped == ()


def test_general_scores_read_names_with_a_leading_space(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES)
    data = flickr_aes.load_image_scores(root, test_workers=["C3"])
    assert [(i.path.name, i.score, i.raw) for i in data.split("train")] == [
        ("farm1_1.jpg", 0.25, 2.0),
        ("farm1_2.jpg", 0.875, 4.5),
        ("farm1_4.jpg", 0.0, 1.0),  # rated by no worker: train
    ]
    assert [(i.path, i.score) for i in data.split("test")] == [(root / "40K" / "farm1_3.jpg", 0.5)]


def test_an_image_rated_by_any_test_worker_is_a_test_image(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES)
    data = flickr_aes.load_image_scores(root, test_workers=["B2"])  # B2 shares farm1_2 with A1
    assert [i.path.name for i in data.split("test")] == ["farm1_2.jpg"]
    assert [i.path.name for i in data.split("train")] == [
        "farm1_1.jpg",
        "farm1_3.jpg",
        "farm1_4.jpg",
    ]


def test_a_test_workers_image_stays_out_of_train_even_if_its_rating_is_bad(
    tmp_path: Path,
) -> None:
    root = write_flickr(tmp_path, [*RATINGS, ("D4", "farm1_4.jpg", "3.5")], SCORES)
    data = flickr_aes.load_image_scores(root, test_workers=["D4"])
    assert [i.path.name for i in data.split("test")] == ["farm1_4.jpg"]
    with pytest.raises(DatasetError, match=r"each_worker.csv:6: score 3.5 is not an integer"):
        flickr_aes.load_people_ratings(root, test_workers=["D4"])


def many_workers(n: int) -> list[tuple[str, str, str]]:
    return [(f"W{k:03d}", f"img{k % 7}.jpg", str(k % 5 + 1)) for k in range(n)]


def test_the_default_seeded_split_takes_37_of_210_workers(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, many_workers(210), [], images=False)
    data = flickr_aes.load_people_ratings(root, check_images=False)
    assert (len(data.split("train")), len(data.split("test"))) == (173, 37)


def test_the_seeded_split_is_deterministic_and_independent_of_row_order(tmp_path: Path) -> None:
    rows = many_workers(20)
    forward = write_flickr(tmp_path / "forward", rows, [], images=False)
    backward = write_flickr(tmp_path / "backward", rows[::-1], [], images=False)

    def test_set(root: Path, seed: int) -> set[str]:
        data = flickr_aes.load_people_ratings(
            root, test_fraction=0.25, seed=seed, check_images=False
        )
        assert len(data.split("train")) == 15
        return set(people_of(data, "test"))

    chosen = test_set(forward, 0)
    assert len(chosen) == 5
    assert test_set(forward, 0) == chosen == test_set(backward, 0)
    assert test_set(forward, 1) != chosen


def test_image_scores_and_people_ratings_share_the_seeded_split(tmp_path: Path) -> None:
    rows = many_workers(20)
    root = write_flickr(tmp_path, rows, [f"img{k}.jpg 3" for k in range(7)], images=False)
    people = flickr_aes.load_people_ratings(root, test_fraction=0.25, seed=3, check_images=False)
    scores = flickr_aes.load_image_scores(root, test_fraction=0.25, seed=3, check_images=False)
    test_workers = set(people_of(people, "test"))
    expected = sorted({image for worker, image, _ in rows if worker in test_workers})
    assert sorted(i.path.name for i in scores.split("test")) == expected


def test_unknown_test_workers_are_an_error(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES)
    with pytest.raises(DatasetError, match=r"1 test workers not in the database: Z9"):
        flickr_aes.load_people_ratings(root, test_workers=["A1", "Z9"])
    with pytest.raises(DatasetError, match=r"collection of worker ids"):
        flickr_aes.load_image_scores(root, test_workers="A1")


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("3.5", "score 3.5 is not an integer 1-5"),
        ("6", "score 6 is outside the scale 1..5"),
        ("0", "score 0 is outside the scale 1..5"),
        ("good", "score 'good' is not a number"),
    ],
)
def test_a_bad_worker_score_names_file_and_line(tmp_path: Path, score: str, message: str) -> None:
    root = write_flickr(tmp_path, [*RATINGS, ("A1", "farm1_4.jpg", score)], SCORES)
    with pytest.raises(DatasetError, match=rf"{flickr_aes.WORKER_FILE}:6: {message}"):
        flickr_aes.load_people_ratings(root)


def test_bad_worker_rows_can_be_skipped_and_counted(tmp_path: Path) -> None:
    rows = [*RATINGS, ("A1", "farm1_1.jpg", "2"), ("", "farm1_3.jpg", "2"), ("C3", "", "2")]
    root = write_flickr(tmp_path, rows, SCORES)
    with pytest.raises(DatasetError, match=r"each_worker.csv:6: duplicate rating of farm1_1.jpg"):
        flickr_aes.load_people_ratings(root)
    data = flickr_aes.load_people_ratings(root, on_bad_row="skip", test_workers=[])
    assert [str(row).split(": ", 1)[1] for row in data.skipped] == [
        f"duplicate rating of farm1_1.jpg by A1 (first at {root / flickr_aes.WORKER_FILE}:2)",
        "empty person id",
        "empty imagePair",
    ]
    assert [i.raw for i in data.person("A1").ratings] == [1.0, 4.0]
    assert people_of(data, "test") == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("farm1_9.jpg", "expected 2 fields \\(image_name score\\), got 1"),
        ("farm1 9.jpg 3.0", "expected 2 fields \\(image_name score\\), got 3"),
        ("farm1_9.jpg 5.5", "score 5.5 is outside the scale 1..5"),
        ("farm1_1.jpg 3.0", "duplicate row for farm1_1.jpg"),
    ],
)
def test_a_bad_score_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES)
    with (root / flickr_aes.SCORES_FILE).open("a") as table:
        table.write(f"\n{line}\n")  # after a blank line: line 6
    with pytest.raises(DatasetError, match=rf"{flickr_aes.SCORES_FILE}:6: {message}"):
        flickr_aes.load_image_scores(root)
    data = flickr_aes.load_image_scores(root, on_bad_row="skip", check_images=False)
    assert len(data) == 4 and len(data.skipped) == 1


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES, images=False)
    with pytest.raises(DatasetError, match=r"each_worker.csv:2: image .*farm1_1.jpg is listed"):
        flickr_aes.load_people_ratings(root)
    with pytest.raises(DatasetError, match=r"score.txt:1: image .*farm1_1.jpg is listed"):
        flickr_aes.load_image_scores(root)
    assert len(flickr_aes.load_image_scores(root, check_images=False)) == 4


def test_missing_columns_and_files_are_errors(tmp_path: Path) -> None:
    root = write_flickr(tmp_path, RATINGS, SCORES)
    (root / flickr_aes.WORKER_FILE).write_text("worker, image, score\nA1, farm1_1.jpg, 3\n")
    with pytest.raises(DatasetError, match=r"each_worker.csv:1: missing column\(s\) imagePair"):
        flickr_aes.load_people_ratings(root)
    (root / flickr_aes.WORKER_FILE).unlink()
    with pytest.raises(DatasetError, match=r"table not found: .*each_worker.csv"):
        flickr_aes.load_image_scores(root)
