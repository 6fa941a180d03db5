"""`forget` always succeeds at deleting: a sound, damaged, foreign or odd ratings file, its
profiles and the image cache."""

import os
import sqlite3
from pathlib import Path

import pytest

from tastevec.client.cli import main
from tastevec.client.forgetting import forget_home
from tastevec.client.home import Home
from tastevec.client.ratings_store import Rating, RatingScale, RatingsStore

MARKER = b"holiday-MARKER-9c1f"


def _home_with_everything(tmp_path: Path) -> Home:
    home = Home.at(tmp_path / "home").create()
    with RatingsStore.open(home.ratings) as store:
        ratings = [
            Rating(
                f"{n:064x}", 3, f"/photos/{MARKER.decode()}-{n}.jpg", f"2024-01-01T00:00:{n:02d}Z"
            )
            for n in range(40)
        ]
        store.record(ratings, store.plan_import(RatingScale(1, 5)))
    home.profiles.mkdir()
    (home.profiles / "r-1.json").write_text("{}")
    (home.profiles / ".r-1.json.abc.tmp").write_text("{")  # a half-written one
    home.image_cache.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    return home


def _left(home: Home) -> list[str]:
    return sorted(str(p.relative_to(home.root)) for p in home.root.rglob("*") if p.is_file())


def test_forget_deletes_ratings_profiles_and_cache(tmp_path: Path) -> None:
    home = _home_with_everything(tmp_path)
    report = forget_home(home)
    assert (report.ratings, report.profiles, report.damaged) == (40, 1, None)
    assert report.lines() == ["deleted 40 ratings, 1 profile and the image cache"]
    with RatingsStore.open(home.ratings) as store:
        assert store.count() == 0 and store.scale() is None
    assert _left(home) == ["ratings.sqlite"]
    assert MARKER not in home.ratings.read_bytes()


def _damage(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # the header stays: SQLite finds it malformed
    db.write_bytes(bytes(data))


def _foreign(db: Path) -> None:
    db.unlink()
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE photos (name TEXT)")
    connection.execute(f"INSERT INTO photos VALUES ('{MARKER.decode()}')")
    connection.commit()
    connection.close()


def _not_sqlite(db: Path) -> None:
    db.write_bytes(b"image,score\n" + MARKER + b".jpg,5\n")


def _fifo(db: Path) -> None:
    db.unlink()
    os.mkfifo(db)


@pytest.mark.parametrize("spoil", [_damage, _foreign, _not_sqlite, _fifo])
def test_forget_deletes_a_ratings_database_it_cannot_open_and_everything_else(
    tmp_path: Path, spoil: object, capsys: pytest.CaptureFixture[str]
) -> None:
    home = _home_with_everything(tmp_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{home.ratings}{suffix}").unlink(missing_ok=True)
    spoil(home.ratings)  # type: ignore[operator]
    assert main(["forget", "--home", str(home.root), "--yes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deleted the unreadable ratings database (")
    assert out.rstrip().endswith("1 profile and the image cache")
    assert _left(home) == []
    assert not home.ratings.exists() and not home.ratings.is_symlink()


def test_forget_on_a_home_that_holds_nothing(tmp_path: Path) -> None:
    report = forget_home(Home.at(tmp_path / "nobody"))
    assert report.lines() == ["deleted 0 ratings, 0 profiles and the image cache"]
    assert not (tmp_path / "nobody").exists()  # forgetting creates nothing


def test_forget_deletes_the_pages_thumbnails(tmp_path: Path) -> None:
    home = Home.at(tmp_path / "home").create()
    (home.thumbnails / "thumb").mkdir(parents=True)
    (home.thumbnails / "thumb" / "a.jpg").write_bytes(b"jpeg")
    forget_home(home)
    assert not home.thumbnails.exists()


def test_what_cannot_be_deleted_is_named_after_the_rest_is_deleted(tmp_path: Path) -> None:
    home = _home_with_everything(tmp_path)
    home.image_cache.unlink()
    home.image_cache.mkdir()  # a folder where the cache file should be
    (home.image_cache / "x").write_text("x")
    with pytest.raises(Exception, match="forget could not delete everything: cannot delete image"):
        forget_home(home)
    with RatingsStore.open(home.ratings) as store:
        assert store.count() == 0  # the ratings went anyway
    assert not (home.profiles / "r-1.json").exists()
