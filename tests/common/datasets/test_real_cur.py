import re
from pathlib import Path

import pytest

from tastevec.common.datasets import real_cur
from tastevec.common.errors import DatasetError


def write_real_cur(root: Path, files: list[str]) -> Path:
    """REAL-CUR as distributed: each file is `<album>/<score folder>/<image>` under images/."""
    (root / "images").mkdir(parents=True)
    for name in files:
        path = root / "images" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"jpeg")
    return root


ALBUMS = ["user2/2/c.jpg", "user1/1/x.jpg", "user1/5/a.png", "user1/3/b.JPG", "user1/4/d.jpeg"]


def test_ratings_come_from_the_score_folders_in_sorted_order(tmp_path: Path) -> None:
    root = write_real_cur(tmp_path, ALBUMS)
    data = real_cur.load_people_ratings(root)
    assert data.info.has_people and data.info.splits == ("test",)
    assert [person.person for person in data.split("test")] == ["user1", "user2"]
    assert [(i.path, i.score, i.raw) for i in data.person("user1").ratings] == [
        (root / "images" / "user1" / "5" / "a.png", 1.0, 5.0),
        (root / "images" / "user1" / "3" / "b.JPG", 0.5, 3.0),
        (root / "images" / "user1" / "4" / "d.jpeg", 0.75, 4.0),
        (root / "images" / "user1" / "1" / "x.jpg", 0.0, 1.0),
    ]
    assert [(i.score, i.raw) for i in data.person("user2").ratings] == [(0.25, 2.0)]
    assert data.skipped == ()
    with pytest.raises(DatasetError, match=r"real_cur has no split 'train'"):
        data.split("train")


def test_hidden_files_are_ignored(tmp_path: Path) -> None:
    hidden = ["user1/.DS_Store", "user1/3/.DS_Store", "user1/3/._b.jpg", ".hidden/1/a.jpg"]
    root = write_real_cur(tmp_path, [*ALBUMS, *hidden])
    (root / "images" / ".DS_Store").write_bytes(b"")
    data = real_cur.load_people_ratings(root)
    assert data.skipped == ()
    assert [i.path.name for i in data.person("user1").ratings] == [
        "a.png",
        "b.JPG",
        "d.jpeg",
        "x.jpg",
    ]


@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        ("user1/6/e.jpg", "user1/6", "score folder '6' is not an integer 1-5"),
        ("user1/0/e.jpg", "user1/0", "score folder '0' is not an integer 1-5"),
        ("user1/good/e.jpg", "user1/good", "score folder 'good' is not an integer 1-5"),
        ("user1/3.5/e.jpg", "user1/3.5", "score folder '3.5' is not an integer 1-5"),
        ("user1/3/notes.txt", "user1/3/notes.txt", "not an image file"),
        ("user1/3/raw/e.jpg", "user1/3/raw", "not an image file"),
        ("user1/e.jpg", "user1/e.jpg", "not in a score folder"),
        ("user1/5/x.jpg", "user1/5/x.jpg", "duplicate of .*user1/1/x.jpg"),
    ],
)
def test_bad_entries_name_their_path_and_can_be_skipped(
    tmp_path: Path, extra: str, where: str, message: str
) -> None:
    root = write_real_cur(tmp_path, [*ALBUMS, extra])
    with pytest.raises(DatasetError, match=rf"^{re.escape(str(root))}/images/{where}: {message}"):
        real_cur.load_people_ratings(root)
    data = real_cur.load_people_ratings(root, on_bad_row="skip")
    assert len(data.skipped) == 1
    assert [(i.path.parent.name, i.path.name) for i in data.person("user1").ratings] == [
        ("5", "a.png"),
        ("3", "b.JPG"),
        ("4", "d.jpeg"),
        ("1", "x.jpg"),
    ]


def test_a_file_among_the_albums_is_a_bad_row(tmp_path: Path) -> None:
    root = write_real_cur(tmp_path, [*ALBUMS, "readme.txt"])
    with pytest.raises(DatasetError, match=r"images/readme.txt: not an album folder"):
        real_cur.load_people_ratings(root)
    data = real_cur.load_people_ratings(root, on_bad_row="skip")
    assert len(data.skipped) == 1 and len(data.split("test")) == 2


def test_an_empty_or_missing_image_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"REAL-CUR image folder not found"):
        real_cur.load_people_ratings(tmp_path)
    root = write_real_cur(tmp_path, [])
    (root / "images" / ".DS_Store").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"images: no albums"):
        real_cur.load_people_ratings(root, on_bad_row="skip")
