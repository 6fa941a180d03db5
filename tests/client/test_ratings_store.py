"""Tests for tastevec.client.ratings_store on real SQLite files: schema, scale rules, upserts,
chunked commits, forgetting, and refusing files that are not a ratings database."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tastevec.client.ratings_store import (
    DEFAULT_SCALE,
    SCHEMA_VERSION,
    Rating,
    RatingScale,
    RatingsStore,
    RecordResult,
    ReplacedRating,
    parse_scale,
)
from tastevec.common.errors import RatingsError


def _rating(n: int, score: float, *, path: str | None = None, at: str | None = None) -> Rating:
    return Rating(
        image_sha256=f"{n:064x}",
        score=score,
        path=path or f"/photos/{n}.jpg",
        rated_at=at or f"2024-01-01T00:00:{n:02d}.000000+00:00",
    )


def _record(
    store: RatingsStore,
    ratings: Iterable[Rating],
    scale: RatingScale | None = None,
    *,
    chunk: int = 500,
) -> RecordResult:
    return store.record(ratings, store.plan_import(scale), chunk=chunk)


def _one_line_naming(exc: pytest.ExceptionInfo[RatingsError], what: object) -> str:
    message = str(exc.value)
    assert "\n" not in message
    assert str(what) in message
    return message


def _files_bytes(db: Path) -> bytes:
    """The database file and its write-ahead log, as they lie on disk."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RatingsStore]:
    with RatingsStore.open(tmp_path / "home" / "ratings.sqlite") as opened:
        yield opened


# --- scales -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high", "shown"),
    [
        ("1-5", 1, 5, "1-5"),
        ("0-100", 0, 100, "0-100"),
        ("1-10", 1, 10, "1-10"),
        (" 0.5 - 4.5 ", 0.5, 4.5, "0.5-4.5"),
        ("1.0-7", 1, 7, "1-7"),
    ],
)
def test_parse_scale_reads_low_high(text: str, low: float, high: float, shown: str) -> None:
    scale = parse_scale(text)
    assert (scale.low, scale.high) == (low, high)
    assert str(scale) == shown
    assert parse_scale(str(scale)) == scale


@pytest.mark.parametrize("text", ["", "5", "10-1", "5-5", "a-b", "1-", "-1-5", "1..5", "1-5-9"])
def test_parse_scale_refuses_anything_else_naming_the_value(text: str) -> None:
    with pytest.raises(RatingsError) as exc:
        parse_scale(text)
    _one_line_naming(exc, repr(text))


def test_scale_contains_its_bounds_and_nothing_outside() -> None:
    assert RatingScale(1, 10) == DEFAULT_SCALE
    assert str(DEFAULT_SCALE) == "1-10"
    assert DEFAULT_SCALE.contains(1) and DEFAULT_SCALE.contains(10) and DEFAULT_SCALE.contains(5.5)
    for score in (0.999, 10.001, float("nan"), float("inf"), -float("inf")):
        assert not DEFAULT_SCALE.contains(score)
    with pytest.raises(ValueError):
        RatingScale(5, 5)


# --- opening ------------------------------------------------------------------------------


def test_open_creates_the_folder_and_schema_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "new" / "home" / "ratings.sqlite"
    with RatingsStore.open(db) as store:
        assert store.count() == 0
        assert store.scale() is None
        assert store.last_rated() is None
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # private: only this user reads it
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert {"ratings", "meta"} <= tables
        columns = [row[1] for row in connection.execute("PRAGMA table_info(ratings)")]
        assert columns == ["image_sha256", "score", "path", "rated_at"]
    finally:
        connection.close()


def test_a_reopened_store_keeps_its_ratings_and_scale(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    with RatingsStore.open(db) as store:
        _record(store, [_rating(1, 4), _rating(2, 2.5)], parse_scale("1-5"))
    with RatingsStore.open(db) as store:
        assert store.count() == 2
        assert store.scale() == RatingScale(1, 5)
        assert [r.score for r in store.ratings()] == [4, 2.5]


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    content = b"image,score\nmy-notes.jpg,7\n" * 100
    db.write_bytes(content)
    with pytest.raises(RatingsError) as exc:
        RatingsStore.open(db)
    _one_line_naming(exc, db)
    assert db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ratings.sqlite"]  # no -wal, -shm


def test_a_sqlite_database_of_another_kind_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    connection = sqlite3.connect(db)
    connection.execute("CREATE TABLE photos (name TEXT, stars INTEGER)")
    connection.execute("INSERT INTO photos VALUES ('beach.jpg', 5)")
    connection.commit()
    connection.close()
    content = db.read_bytes()
    with pytest.raises(RatingsError) as exc:
        RatingsStore.open(db)
    assert "another kind" in _one_line_naming(exc, db)
    assert db.read_bytes() == content


def test_a_newer_schema_version_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    with RatingsStore.open(db) as store:
        _record(store, [_rating(1, 3)])
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA user_version = 2")
    connection.close()
    content = db.read_bytes()
    with pytest.raises(RatingsError) as exc:
        RatingsStore.open(db)
    assert "newer" in _one_line_naming(exc, db)
    assert db.read_bytes() == content


def test_a_folder_in_place_of_the_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    db.mkdir()
    with pytest.raises(RatingsError) as exc:
        RatingsStore.open(db)
    _one_line_naming(exc, db)


# --- the scale a person rates on ----------------------------------------------------------


def test_the_first_rows_settle_the_default_or_the_requested_scale(tmp_path: Path) -> None:
    with RatingsStore.open(tmp_path / "a.sqlite") as store:
        assert store.plan_import(None).scale == DEFAULT_SCALE
        assert store.scale() is None  # planning writes nothing
        _record(store, [_rating(1, 7)])
        assert store.scale() == DEFAULT_SCALE
    with RatingsStore.open(tmp_path / "b.sqlite") as store:
        _record(store, [_rating(1, 70)], RatingScale(0, 100))
        assert store.plan_import(None).scale == RatingScale(0, 100)
        assert store.plan_import(RatingScale(0, 100)).scale == RatingScale(0, 100)


def test_the_scale_may_change_only_while_no_rating_is_stored(store: RatingsStore) -> None:
    assert store.plan_import(RatingScale(1, 5)).scale == RatingScale(1, 5)  # nothing rated yet
    _record(store, [_rating(1, 4)], RatingScale(1, 5))
    with pytest.raises(RatingsError) as exc:
        store.plan_import(RatingScale(1, 10))
    message = _one_line_naming(exc, "1-5")
    assert "cannot switch to 1-10 while 1 rating is stored" in message
    assert "forget" in message
    assert store.scale() == RatingScale(1, 5)
    assert store.plan_import(None).scale == RatingScale(1, 5)


# --- imports and forgets that run at once (two connections, as two processes have) ---------


def test_an_import_whose_scale_another_import_settled_first_records_nothing(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ratings.sqlite"
    with RatingsStore.open(db) as first, RatingsStore.open(db) as second:
        slow = first.plan_import(RatingScale(1, 5))  # planned, nothing committed yet
        second.record([_rating(1, 9)], second.plan_import(RatingScale(1, 10)))
        with pytest.raises(RatingsError) as exc:
            first.record([_rating(2, 4), _rating(3, 5)], slow)
        message = _one_line_naming(exc, "settled your scale as 1-10")
        assert "while this one read scores on 1-5" in message
        assert "nothing of this import recorded" in message
        assert [(r.image_sha256, r.score) for r in first.ratings()] == [(f"{1:064x}", 9.0)]
        assert first.scale() == RatingScale(1, 10)


def test_an_import_stops_at_a_forget_and_leaves_nothing_without_a_scale(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    with RatingsStore.open(db) as importer, RatingsStore.open(db) as forgetter:
        plan = importer.plan_import(RatingScale(1, 5))

        def rows() -> Iterator[Rating]:
            for n in range(10):
                if n == 4:  # two chunks of 2 are committed: forget now, from elsewhere
                    assert forgetter.forget() == 4
                yield _rating(n, 3)

        with pytest.raises(RatingsError) as exc:
            importer.record(rows(), plan, chunk=2)
        message = _one_line_naming(exc, "forgotten while this import ran")
        assert "4 ratings of this import recorded before" in message
        assert importer.count() == 0
        assert importer.scale() is None
        assert importer.plan_import(RatingScale(1, 10)).scale == RatingScale(1, 10)


def test_a_forget_between_plan_and_first_rows_stops_the_import(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    with RatingsStore.open(db) as importer, RatingsStore.open(db) as forgetter:
        plan = importer.plan_import(None)
        forgetter.forget()
        with pytest.raises(RatingsError, match="forgotten while this import ran"):
            importer.record([_rating(1, 3)], plan)
        assert importer.count() == 0


def test_ratings_left_without_a_scale_are_named_not_adopted(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    with RatingsStore.open(db) as store:
        _record(store, [_rating(1, 4)], RatingScale(1, 5))
    connection = sqlite3.connect(db)  # the state an older tastevec-client's forget could leave
    connection.execute("DELETE FROM meta WHERE key = 'scale'")
    connection.commit()
    connection.close()
    with RatingsStore.open(db) as store:
        with pytest.raises(RatingsError) as exc:
            store.scale_of_ratings()
        assert "holds 1 rating but no scale" in _one_line_naming(exc, db)
        with pytest.raises(RatingsError, match="but no scale"):
            _record(store, [_rating(2, 4)], RatingScale(1, 10))
        assert store.scale() is None and store.count() == 1


# --- recording ----------------------------------------------------------------------------


def test_record_adds_replaces_and_keeps_unchanged_ratings(store: RatingsStore) -> None:
    first = _record(store, [_rating(1, 3), _rating(2, 5), _rating(3, 7)])
    assert (first.added, first.replaced, first.unchanged) == (3, (), 0)
    old_at = {r.image_sha256: r.rated_at for r in store.ratings()}

    later = "2025-06-01T12:00:00.000000+00:00"
    second = _record(
        store, [_rating(1, 3, at=later), _rating(2, 9, at=later), _rating(4, 1, at=later)]
    )
    assert second.added == 1
    assert second.unchanged == 1
    assert second.replaced == (ReplacedRating("/photos/2.jpg", 5, 9),)
    assert second.recorded == 3
    stored = {r.image_sha256: r for r in store.ratings()}
    assert {sha: r.score for sha, r in stored.items()} == {
        f"{1:064x}": 3,
        f"{2:064x}": 9,
        f"{3:064x}": 7,
        f"{4:064x}": 1,
    }
    assert stored[f"{1:064x}"].rated_at == old_at[f"{1:064x}"]  # same score: not re-rated
    assert stored[f"{2:064x}"].rated_at == later
    assert store.last_rated() == later


def test_the_latest_rating_of_an_image_wins_within_one_call(store: RatingsStore) -> None:
    result = _record(store, [_rating(1, 2), _rating(1, 8), _rating(1, 6)], chunk=2)
    assert (result.added, result.replaced, result.unchanged) == (1, (), 0)
    assert [r.score for r in store.ratings()] == [6]


def test_a_moved_image_keeps_its_rating_under_its_new_path(store: RatingsStore) -> None:
    _record(store, [_rating(1, 4, path="/old/place/beach.jpg")])
    result = _record(store, [_rating(1, 4, path="/new/place/renamed.jpg")])
    assert result.unchanged == 1
    (rating,) = store.ratings()
    assert (rating.score, rating.path) == (4, "/new/place/renamed.jpg")


def test_record_commits_each_chunk_so_an_interrupted_import_keeps_earlier_ones(
    store: RatingsStore,
) -> None:
    def ratings_then_crash() -> Iterator[Rating]:
        for n in range(7):
            yield _rating(n, 5)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _record(store, ratings_then_crash(), chunk=3)
    assert store.count() == 6  # two chunks of 3 committed; the 7th was never written
    _record(store, [_rating(99, 1)])  # the store is still usable
    assert store.count() == 7


def test_record_refuses_a_score_off_the_stored_scale(store: RatingsStore) -> None:
    _record(store, [_rating(0, 2)], RatingScale(1, 5))
    with pytest.raises(RatingsError) as exc:
        _record(
            store, [_rating(1, 3), _rating(2, 5.0000001, path="/photos/too-good.jpg")], chunk=10
        )
    assert "score 5.0000001 of" in _one_line_naming(exc, "/photos/too-good.jpg")
    assert "outside your scale 1-5" in str(exc.value)
    assert store.count() == 2  # the good rating before it was committed
    with pytest.raises(ValueError):
        _record(store, [], chunk=0)


def test_ratings_are_listed_oldest_first(store: RatingsStore) -> None:
    _record(
        store,
        [
            _rating(3, 1, at="2024-03-01T00:00:00.000000+00:00"),
            _rating(1, 2, at="2024-05-01T00:00:00.000000+00:00"),
            _rating(2, 3, at="2024-03-01T00:00:00.000000+00:00"),
        ],
    )
    assert [r.image_sha256[-1] for r in store.ratings()] == ["2", "3", "1"]
    assert store.count() == 3
    assert store.last_rated() == "2024-05-01T00:00:00.000000+00:00"


# --- forgetting ---------------------------------------------------------------------------


def test_forget_deletes_every_rating_and_leaves_no_trace_in_the_file(tmp_path: Path) -> None:
    db = tmp_path / "ratings.sqlite"
    marker = "holiday-with-MARKER-5d1e0c"
    with RatingsStore.open(db) as store:
        _record(
            store,
            (_rating(n, n % 100, path=f"/photos/{marker}-{n}.jpg") for n in range(300)),
            RatingScale(0, 100),
        )
        assert marker.encode() in _files_bytes(db)  # the check below can see it

        assert store.forget() == 300
        assert store.count() == 0
        assert store.ratings() == []
        assert store.scale() is None  # a new scale may be chosen
        assert marker.encode() not in _files_bytes(db)

        assert store.plan_import(RatingScale(1, 5)).scale == RatingScale(1, 5)
        assert store.forget() == 0
    assert marker.encode() not in _files_bytes(db)
    assert os.path.getsize(db) < 100_000


def test_one_rating_is_read_and_removed_by_its_digest_for_undo(store: RatingsStore) -> None:
    _record(store, [_rating(1, 3), _rating(2, 5)])
    assert store.rating(f"{1:064x}") == _rating(1, 3)
    assert store.rating(f"{9:064x}") is None
    assert store.remove(f"{1:064x}") is True
    assert store.remove(f"{1:064x}") is False
    assert [r.image_sha256 for r in store.ratings()] == [f"{2:064x}"]
    # a replaced rating is put back as it was, its time included
    before = store.rating(f"{2:064x}")
    assert before is not None
    _record(store, [_rating(2, 8, at="2025-01-01T00:00:00.000000+00:00")])
    _record(store, [before])
    assert store.rating(f"{2:064x}") == before
