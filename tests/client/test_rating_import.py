"""Tests for tastevec.client.rating_import with real image files, CSVs and SQLite stores:
good imports, every kind of bad row, duplicates, moved files, and single ratings."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tastevec.client.rating_import import (
    CSV_LIMIT,
    ImportReport,
    SkippedRating,
    import_csv,
    rate_image,
)
from tastevec.client.ratings_store import (
    DEFAULT_SCALE,
    RatingScale,
    RatingsStore,
    ReplacedRating,
)
from tastevec.common.digests import sha256_file
from tastevec.common.errors import ImageError, RatingsError


def _image(path: Path, seed: int) -> Path:
    """A 16x16 image (format from the suffix) whose content differs for every seed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (16, 16), (seed % 256, (seed // 256) % 256, 90))
    image.putpixel((seed % 16, 3), (255, 255, 255))
    image.save(path)
    return path


def _csv(path: Path, *lines: str, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scores(store: RatingsStore) -> dict[str, float]:
    """Stored score per image path."""
    return {Path(r.path).name: r.score for r in store.ratings()}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RatingsStore]:
    with RatingsStore.open(tmp_path / "home" / "ratings.sqlite") as opened:
        yield opened


def test_a_csv_is_imported_with_paths_relative_to_its_folder(
    tmp_path: Path, store: RatingsStore
) -> None:
    photos = tmp_path / "photos"
    _image(photos / "a.jpg", 1)
    _image(photos / "sub" / "b.png", 2)
    elsewhere = _image(tmp_path / "elsewhere" / "c.png", 3)
    csv_path = _csv(
        photos / "ratings.csv",
        "Score,comment,IMAGE",  # any order and case, extra columns ignored
        "7,nice,a.jpg",
        '2.5,"meh, really",sub/b.png',
        f"10,,{elsewhere}",
        bom=True,
    )
    report = import_csv(store, csv_path, store.plan_import(DEFAULT_SCALE), show_progress=False)
    assert (report.added, report.replaced, report.unchanged, report.skipped) == (3, (), 0, ())
    assert report.stored == 3
    assert report.lines() == [
        "recorded 3 ratings (3 new, 0 replaced, 0 unchanged); 3 ratings stored on scale 1-10"
    ]
    stored = {r.path: r for r in store.ratings()}
    assert {path: r.score for path, r in stored.items()} == {
        str((photos / "a.jpg").resolve()): 7,
        str((photos / "sub" / "b.png").resolve()): 2.5,
        str(elsewhere.resolve()): 10,
    }
    assert stored[str(elsewhere.resolve())].image_sha256 == sha256_file(elsewhere)
    assert all(r.rated_at.endswith("+00:00") for r in stored.values())


def test_every_bad_row_is_skipped_and_reported_by_file_and_line(
    tmp_path: Path, store: RatingsStore
) -> None:
    _image(tmp_path / "good1.png", 1)
    _image(tmp_path / "good2.jpg", 2)
    (tmp_path / "corrupt.jpg").write_bytes(_image(tmp_path / "x.jpg", 3).read_bytes()[:200])
    (tmp_path / "notes.png").write_text("this is not a picture\n")
    csv_path = _csv(
        tmp_path / "data.csv",
        "image,score",
        "good1.png,4",  # line 2
        ",5",  # 3: no image
        "good2.jpg,great",  # 4: not a number
        "good2.jpg,nan",  # 5: not finite
        "good2.jpg,11",  # 6: off the scale
        "missing.jpg,5",  # 7: no such file
        "corrupt.jpg,5",  # 8: truncated JPEG
        "notes.png,5",  # 9: not an image
        "good2.jpg,",  # 10: no score
        "",  # 11: a blank line is not a row
        "good2.jpg,8",  # 12
        "bad\x00name.jpg,5",  # 13: a path no file system takes
    )
    report = import_csv(store, csv_path, store.plan_import(DEFAULT_SCALE), show_progress=False)
    where = {row.where: row.reason for row in report.skipped}
    assert list(where) == [f"{csv_path}:{line}" for line in (3, 4, 5, 6, 7, 8, 9, 10, 13)]
    reasons = list(where.values())
    assert "no image" in reasons[0]
    assert "'great' is not a number" in reasons[1]
    assert "'nan' is not a finite number" in reasons[2]
    assert "score 11 is outside your scale 1-10" in reasons[3]
    assert "not found" in reasons[4] and "missing.jpg" in reasons[4]
    assert "corrupt.jpg" in reasons[5]
    assert "notes.png" in reasons[6] and "not an image" in reasons[6]
    assert "no score" in reasons[7]
    assert "NUL" in reasons[8]
    assert all("\n" not in reason for reason in reasons)

    assert _scores(store) == {"good1.png": 4, "good2.jpg": 8}
    lines = report.lines()
    assert lines[0].startswith("recorded 2 ratings (2 new, 0 replaced, 0 unchanged); skipped 9")
    assert lines[1:] == [f"skipped {w}: {r}" for w, r in where.items()]


def test_an_image_rated_twice_in_one_csv_keeps_the_latest_row(
    tmp_path: Path, store: RatingsStore
) -> None:
    _image(tmp_path / "a.jpg", 1)
    shutil.copy(tmp_path / "a.jpg", tmp_path / "copy-of-a.jpg")
    _image(tmp_path / "b.jpg", 2)
    csv_path = _csv(
        tmp_path / "data.csv",
        "image,score",
        "a.jpg,3",
        "b.jpg,4",
        "a.jpg,6",
        "copy-of-a.jpg,9",
    )
    report = import_csv(
        store, csv_path, store.plan_import(DEFAULT_SCALE), chunk=1, show_progress=False
    )
    assert report.duplicates == (
        f"{csv_path}:4: a.jpg rated again (same image as line 2); line 4 wins",
        f"{csv_path}:5: copy-of-a.jpg rated again (same image as a.jpg on line 4); line 5 wins",
    )
    # counted once, as new, although its first row was committed in an earlier chunk
    assert (report.added, report.replaced, report.unchanged) == (2, (), 0)
    assert _scores(store) == {"copy-of-a.jpg": 9, "b.jpg": 4}
    assert report.lines()[1:] == list(report.duplicates)


def test_a_moved_image_keeps_its_rating(tmp_path: Path, store: RatingsStore) -> None:
    original = _image(tmp_path / "2023" / "beach.jpg", 1)
    import_csv(
        store,
        _csv(tmp_path / "first.csv", "image,score", "2023/beach.jpg,6"),
        store.plan_import(DEFAULT_SCALE),
    )
    moved = tmp_path / "archive" / "best-of-2023.jpg"
    moved.parent.mkdir()
    original.rename(moved)

    again = _csv(tmp_path / "second.csv", "image,score", "archive/best-of-2023.jpg,6")
    report = import_csv(store, again, store.plan_import(DEFAULT_SCALE), show_progress=False)
    assert (report.added, report.replaced, report.unchanged) == (0, (), 1)
    (rating,) = store.ratings()
    assert (rating.score, rating.path) == (6, str(moved.resolve()))

    changed = _csv(tmp_path / "third.csv", "image,score", "archive/best-of-2023.jpg,9")
    report = import_csv(store, changed, store.plan_import(DEFAULT_SCALE), show_progress=False)
    assert report.replaced == (ReplacedRating(str(moved.resolve()), 6, 9),)
    assert report.lines()[1] == f"replaced {moved.resolve()}: 6 -> 9"
    assert store.count() == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        (b"", "empty"),
        (b"picture,stars\na.jpg,3\n", "no 'image' column"),
        (b"image,rating\na.jpg,3\n", "no 'score' column"),
        (b"image,score,image\na.jpg,3,b.jpg\n", "more than one 'image' column"),
        (b"image,score\n\xff\xfe.jpg,3\n", "not UTF-8"),
        (b'image,score\na.jpg,3\n"b.jpg,4\n', "cannot parse"),  # unterminated quote
    ],
)
def test_an_unusable_csv_is_an_error_naming_the_file(
    tmp_path: Path, store: RatingsStore, content: bytes | None, expected: str
) -> None:
    _image(tmp_path / "a.jpg", 1)
    csv_path = tmp_path / "ratings.csv"
    if content is not None:
        csv_path.write_bytes(content)
    with pytest.raises(RatingsError) as exc:
        import_csv(store, csv_path, store.plan_import(DEFAULT_SCALE), show_progress=False)
    message = str(exc.value)
    assert "\n" not in message and str(csv_path) in message
    assert expected in message
    assert store.count() == 0


def test_a_folder_given_as_the_csv_is_an_error(tmp_path: Path, store: RatingsStore) -> None:
    with pytest.raises(RatingsError, match="folder"):
        import_csv(store, tmp_path, store.plan_import(DEFAULT_SCALE))


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # a plain open would wait for a writer forever
    return path


def _endless(path: Path) -> Path:
    path.symlink_to("/dev/zero")
    return path


def _oversized(path: Path) -> Path:
    with path.open("wb") as handle:  # sparse: nothing is written but its size
        handle.truncate(CSV_LIMIT + 1)
    return path


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_fifo, "is a FIFO (named pipe); need a regular file"),
        (_endless, "is a device; need a regular file"),
        (_oversized, f"has {CSV_LIMIT + 1} bytes, more than the limit of {CSV_LIMIT}"),
    ],
)
def test_a_csv_that_never_ends_is_refused_before_it_is_read(
    tmp_path: Path, store: RatingsStore, make: Callable[[Path], Path], expected: str
) -> None:
    csv_path = make(tmp_path / "ratings.csv")
    with pytest.raises(RatingsError) as exc:
        import_csv(store, csv_path, store.plan_import(DEFAULT_SCALE), show_progress=False)
    assert f"ratings CSV {csv_path} {expected}" == str(exc.value)
    assert store.count() == 0


def test_an_image_that_is_a_fifo_is_a_skipped_row_not_a_hang(
    tmp_path: Path, store: RatingsStore
) -> None:
    _image(tmp_path / "a.jpg", 1)
    _fifo(tmp_path / "b.jpg")
    (tmp_path / "c.jpg").symlink_to("/dev/zero")
    csv_path = _csv(tmp_path / "ratings.csv", "image,score", "a.jpg,4", "b.jpg,5", "c.jpg,6")
    report = import_csv(store, csv_path, store.plan_import(DEFAULT_SCALE), show_progress=False)
    assert report.added == 1
    reasons = [row.reason for row in report.skipped]
    assert "FIFO" in reasons[0] and "b.jpg" in reasons[0]
    assert "is a device" in reasons[1] and "c.jpg" in reasons[1]


def test_a_progress_bar_shows_on_stderr_for_large_imports_only(
    tmp_path: Path, store: RatingsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    big = _csv(tmp_path / "big.csv", "image,score", *(f"nothing-{n}.jpg," for n in range(150)))
    report = import_csv(store, big, store.plan_import(DEFAULT_SCALE))
    assert len(report.skipped) == 150
    assert "big.csv" in capsys.readouterr().err
    import_csv(store, big, store.plan_import(DEFAULT_SCALE), show_progress=False)
    small = _csv(tmp_path / "small.csv", "image,score", "nothing.jpg,")
    import_csv(store, small, store.plan_import(DEFAULT_SCALE))
    assert capsys.readouterr().err == ""


def test_rate_image_records_one_image(tmp_path: Path, store: RatingsStore) -> None:
    image = _image(tmp_path / "cat.png", 5)
    report = rate_image(store, image, 8.5, store.plan_import(DEFAULT_SCALE))
    assert (report.added, report.stored) == (1, 1)
    assert report.lines() == [
        "recorded 1 rating (1 new, 0 replaced, 0 unchanged); 1 rating stored on scale 1-10"
    ]
    report = rate_image(store, image, 3, store.plan_import(DEFAULT_SCALE))
    assert report.replaced == (ReplacedRating(str(image.resolve()), 8.5, 3),)
    (rating,) = store.ratings()
    assert (rating.image_sha256, rating.score) == (sha256_file(image), 3)


@pytest.mark.parametrize("score", [0.5, 11, float("nan"), float("inf")])
def test_rate_image_refuses_a_score_off_the_scale(
    tmp_path: Path, store: RatingsStore, score: float
) -> None:
    image = _image(tmp_path / "cat.png", 5)
    with pytest.raises(RatingsError) as exc:
        rate_image(store, image, score, store.plan_import(DEFAULT_SCALE))
    message = str(exc.value)
    assert "\n" not in message and str(image) in message
    assert "1-10" in message or "finite" in message
    assert store.count() == 0


def test_rate_image_refuses_a_file_that_is_not_an_image(
    tmp_path: Path, store: RatingsStore
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole JPEG")
    for path in (broken, tmp_path / "absent.jpg"):
        with pytest.raises(ImageError) as exc:
            rate_image(store, path, 5, store.plan_import(RatingScale(1, 10)))
        assert "\n" not in str(exc.value) and str(path) in str(exc.value)
    assert store.count() == 0


def test_report_lines_cap_the_details() -> None:
    report = ImportReport(
        added=0,
        replaced=(),
        unchanged=0,
        scale=DEFAULT_SCALE,
        stored=0,
        skipped=tuple(SkippedRating(f"r.csv:{n}", "no image given") for n in range(2, 32)),
    )
    lines = report.lines()
    assert lines[0] == (
        "recorded 0 ratings (0 new, 0 replaced, 0 unchanged); skipped 30 rows; "
        "0 ratings stored on scale 1-10"
    )
    assert lines[1] == "skipped r.csv:2: no image given"
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "... and 10 more"


_CELLS = st.one_of(
    st.sampled_from(["a.jpg", "missing.jpg", "", " ", "../a.jpg", "a.jpg\x00", "/dev/zero"]),
    st.sampled_from(["5", "1", "10", "0", "11", "nan", "inf", "-1", "5.0000001", "1e309"]),
    st.text(max_size=6),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(st.sampled_from(["image", "score", "IMAGE", " Score", "x", ""]), max_size=4),
    rows=st.lists(st.lists(_CELLS, max_size=4), max_size=6),
    tail=st.binary(max_size=8),
)
def test_any_csv_gives_a_report_or_a_ratings_error(
    tmp_path: Path, header: list[str], rows: list[list[str]], tail: bytes
) -> None:
    """Arbitrary CSV bytes: an ImportReport or RatingsError, never another exception; every
    stored score lies on the scale."""
    folder = tmp_path / "p"
    folder.mkdir(exist_ok=True)
    if not (folder / "a.jpg").exists():
        _image(folder / "a.jpg", 1)
    text = "\n".join(",".join(cells) for cells in [header, *rows])
    (folder / "r.csv").write_bytes(text.encode("utf-8", "surrogatepass") + tail)
    with RatingsStore.open(tmp_path / f"{len(rows)}-{len(header)}.sqlite") as store:
        try:
            report = import_csv(
                store, folder / "r.csv", store.plan_import(DEFAULT_SCALE), show_progress=False
            )
        except RatingsError:
            return
        assert report.recorded + len(report.skipped) <= len(rows)
        assert all(DEFAULT_SCALE.contains(r.score) for r in store.ratings())
