from collections.abc import Sequence
from pathlib import Path

import pytest

from tastevec.common.datasets import para
from tastevec.common.datasets.records import PeopleRatings
from tastevec.common.errors import DatasetError

SCORES = ("aesthetic", "quality", "composition", "color", "dof", "content", "light")
BINS = ("1.0", "1.5", "2.0", "2.5", "3.0", "3.5", "4.0", "4.5", "5.0")
PEOPLE_HEADER = (
    "sessionId,imageName,userId,"
    + ",".join(f"{name}Score" for name in SCORES)
    + ",difficultyOfJudgment,semantic,age,gender\n"
)
GIAA_HEADER = (
    "imageName,sessionId,"
    + ",".join(
        ",".join(f"{name}Score_{b}" for b in BINS) + f",{name}Score_mean,{name}Score_std"
        for name in SCORES
    )
    + ",semantic\n"
)

Giaa = tuple[str, str, str]  # session, image, mean aesthetic score (the other means: 2.5)
Person = tuple[str, str, str, str]  # session, image, user, score (colorScore: 3.0)


def giaa_line(session: str, image: str, mean: str) -> str:
    histogram = "0.0,0.0,0.04,0.08,0.24,0.32,0.2,0.08,0.04"
    per_score = [f"{histogram},{mean if name == 'aesthetic' else '2.5'},0.71" for name in SCORES]
    return f"{image},{session},{','.join(per_score)},portrait\n"


def people_line(session: str, image: str, user: str, score: str) -> str:
    scores = ",".join("3.0" if name == "color" else score for name in SCORES)
    return f"{session},{image},{user},{scores},2,portrait,18-21,male\n"


def write_para(
    root: Path,
    train: Sequence[Giaa] = (),
    test: Sequence[Giaa] = (),
    people: Sequence[Person] = (),
    images: bool = True,
) -> Path:
    """PARA as distributed: the two GIAA tables, the per-user table, imgs/<session>/<image>."""
    (root / "annotation").mkdir(parents=True, exist_ok=True)
    (root / "imgs").mkdir(exist_ok=True)
    for split, rows in (("train", train), ("test", test)):
        lines = [GIAA_HEADER] + [giaa_line(*row) for row in rows]
        (root / para.GIAA_FILES[split]).write_text("".join(lines))
    lines = [PEOPLE_HEADER] + [people_line(*row) for row in people]
    (root / para.PEOPLE_FILE).write_text("".join(lines))
    if images:
        for session, image, *_ in [*train, *test, *people]:
            if session and image:
                (root / "imgs" / session).mkdir(exist_ok=True)
                (root / "imgs" / session / image).write_bytes(b"jpeg")
    return root


TRAIN = [("session1", "iaa_pub1_.jpg", "3.0"), ("session2", "iaa_pub1_.jpg", "4.5")]
TEST = [("session1", "iaa_pub7_.jpg", "2.0")]
PEOPLE = [
    ("session1", "iaa_pub1_.jpg", "A0B1", "3.5"),
    ("session1", "iaa_pub7_.jpg", "A0B1", "5.0"),
    ("session2", "iaa_pub1_.jpg", "C2D3", "1.0"),
    ("session1", "iaa_pub7_.jpg", "E4F5", "2.5"),
]


def people_of(data: PeopleRatings, split: str) -> list[str]:
    return [entry.person for entry in data.split(split)]


def test_general_scores_use_the_official_split_and_session_folders(tmp_path: Path) -> None:
    root = write_para(tmp_path, TRAIN, TEST)
    data = para.load_image_scores(root)
    assert [(i.path, i.score, i.raw) for i in data.split("train")] == [
        (root / "imgs" / "session1" / "iaa_pub1_.jpg", 0.5, 3.0),
        (root / "imgs" / "session2" / "iaa_pub1_.jpg", 0.875, 4.5),  # same name, other session
    ]
    assert [(i.path.name, i.score) for i in data.split("test")] == [("iaa_pub7_.jpg", 0.25)]
    assert data.skipped == ()


def test_the_attribute_picks_its_mean_column(tmp_path: Path) -> None:
    root = write_para(tmp_path, TRAIN, TEST)
    data = para.load_image_scores(root, attribute="quality")
    assert [(i.score, i.raw) for i in data.split("train")] == [(0.375, 2.5), (0.375, 2.5)]
    with pytest.raises(DatasetError, match=r"PARA has no attribute 'beauty'"):
        para.load_image_scores(root, attribute="beauty")
    with pytest.raises(DatasetError, match=r"PARA has no attribute 'aestheticScore'"):
        para.load_people_ratings(root, attribute="aestheticScore")


def test_user_ratings_are_normalised_and_split_by_the_given_users(tmp_path: Path) -> None:
    root = write_para(tmp_path, people=PEOPLE)
    data = para.load_people_ratings(root, test_users=["C2D3"])
    assert data.info.has_people and data.info.splits == ("train", "test")
    assert people_of(data, "train") == ["A0B1", "E4F5"]
    assert people_of(data, "test") == ["C2D3"]
    assert [(i.path, i.score, i.raw) for i in data.person("A0B1").ratings] == [
        (root / "imgs" / "session1" / "iaa_pub1_.jpg", 0.625, 3.5),
        (root / "imgs" / "session1" / "iaa_pub7_.jpg", 1.0, 5.0),
    ]
    assert [(i.path.parent.name, i.score) for i in data.person("C2D3").ratings] == [
        ("session2", 0.0)
    ]
    colour = para.load_people_ratings(root, attribute="color", test_users=[])
    assert {i.raw for p in colour.split("train") for i in p.ratings} == {3.0}
    assert people_of(colour, "test") == []


def many_users(n: int) -> list[Person]:
    return [(f"s{k % 3}", f"iaa_pub{k % 5}_.jpg", f"U{k:03d}", "3.0") for k in range(n)]


def test_the_default_seeded_split_takes_40_of_438_users(tmp_path: Path) -> None:
    root = write_para(tmp_path, people=many_users(438), images=False)
    data = para.load_people_ratings(root, check_images=False)
    assert (len(data.split("train")), len(data.split("test"))) == (398, 40)


def test_the_seeded_split_is_deterministic_and_independent_of_row_order(tmp_path: Path) -> None:
    rows = many_users(20)
    forward = write_para(tmp_path / "forward", people=rows, images=False)
    backward = write_para(tmp_path / "backward", people=rows[::-1], images=False)

    def test_set(root: Path, seed: int) -> set[str]:
        data = para.load_people_ratings(root, test_fraction=0.2, seed=seed, check_images=False)
        assert len(data.split("train")) == 16
        return set(people_of(data, "test"))

    chosen = test_set(forward, 0)
    assert len(chosen) == 4
    assert test_set(forward, 0) == chosen == test_set(backward, 0)
    assert test_set(forward, 1) != chosen


def test_unknown_test_users_are_an_error(tmp_path: Path) -> None:
    root = write_para(tmp_path, people=PEOPLE)
    with pytest.raises(DatasetError, match=r"1 test users not in the database: nobody"):
        para.load_people_ratings(root, test_users=["A0B1", "nobody"])
    with pytest.raises(DatasetError, match=r"collection of user ids"):
        para.load_people_ratings(root, test_users="A0B1")


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("3.25", "aestheticScore 3.25 is not a multiple of 0.5"),
        ("5.5", "aestheticScore 5.5 is outside the scale 1..5"),
        ("0.5", "aestheticScore 0.5 is outside the scale 1..5"),
        ("", "aestheticScore '' is not a number"),
    ],
)
def test_a_bad_user_score_names_file_and_line(tmp_path: Path, score: str, message: str) -> None:
    root = write_para(tmp_path, people=[*PEOPLE, ("session1", "iaa_pub9_.jpg", "A0B1", score)])
    with pytest.raises(DatasetError, match=rf"PARA-Images.csv:6: {message}"):
        para.load_people_ratings(root)
    data = para.load_people_ratings(root, on_bad_row="skip")
    assert len(data.skipped) == 1 and len(data.person("A0B1").ratings) == 2


def test_bad_user_rows_can_be_skipped_and_counted(tmp_path: Path) -> None:
    rows = [
        *PEOPLE,
        ("session1", "iaa_pub1_.jpg", "A0B1", "4.0"),
        ("", "iaa_pub1_.jpg", "A0B1", "4.0"),
        ("session1", "", "A0B1", "4.0"),
        ("session1", "iaa_pub1_.jpg", "", "4.0"),
    ]
    root = write_para(tmp_path, people=rows)
    with pytest.raises(DatasetError, match=r"PARA-Images.csv:6: duplicate rating of iaa_pub1_"):
        para.load_people_ratings(root)
    data = para.load_people_ratings(root, on_bad_row="skip")
    assert [row.reason for row in data.skipped] == [
        f"duplicate rating of iaa_pub1_.jpg by A0B1 (first at {root / para.PEOPLE_FILE}:2)",
        "empty sessionId",
        "empty imageName",
        "empty person id",
    ]
    assert [i.raw for i in data.person("A0B1").ratings] == [3.5, 5.0]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("session1", "iaa_pub1_.jpg", "3.0"), "duplicate row for iaa_pub1_.jpg"),
        (("session1", "iaa_pub8_.jpg", "high"), "aestheticScore_mean 'high' is not a number"),
        (("session1", "iaa_pub8_.jpg", "5.2"), "aestheticScore_mean 5.2 is outside the scale"),
        (("", "iaa_pub8_.jpg", "3.0"), "empty sessionId"),
    ],
)
def test_a_bad_general_row_names_file_and_line(tmp_path: Path, row: Giaa, message: str) -> None:
    root = write_para(tmp_path, TRAIN, [*TEST, row])  # in the test file: a clash across files
    with pytest.raises(DatasetError, match=rf"PARA-GiaaTest.csv:3: {message}"):
        para.load_image_scores(root)
    data = para.load_image_scores(root, on_bad_row="skip")
    assert len(data.skipped) == 1 and len(data) == 3


def test_a_listed_but_missing_image_is_an_error(tmp_path: Path) -> None:
    root = write_para(tmp_path, TRAIN, TEST, PEOPLE, images=False)
    with pytest.raises(DatasetError, match=r"GiaaTrain.csv:2: image .*session1/iaa_pub1_.jpg"):
        para.load_image_scores(root)
    with pytest.raises(DatasetError, match=r"PARA-Images.csv:2: image .*session1/iaa_pub1_.jpg"):
        para.load_people_ratings(root)
    assert len(para.load_image_scores(root, check_images=False)) == 3


def test_missing_columns_and_files_are_errors(tmp_path: Path) -> None:
    root = write_para(tmp_path, TRAIN, TEST, PEOPLE)
    header = GIAA_HEADER.replace("lightScore_mean", "lightScore_avg")
    (root / para.GIAA_FILES["test"]).write_text(header)
    with pytest.raises(DatasetError, match=r"GiaaTest.csv:1: missing column\(s\) lightScore_mean"):
        para.load_image_scores(root, attribute="light")
    assert len(para.load_image_scores(root)) == 2
    (root / para.PEOPLE_FILE).write_text("sessionId,imageName,aestheticScore\n")
    with pytest.raises(DatasetError, match=r"Images.csv:1: missing column\(s\) userId"):
        para.load_people_ratings(root)
    (root / para.PEOPLE_FILE).unlink()
    with pytest.raises(DatasetError, match=r"table not found: .*PARA-Images.csv"):
        para.load_people_ratings(root)
