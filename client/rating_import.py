"""Turning a person's input (one image and score, or a CSV of them) into stored ratings.

Every image is decoded fully (a corrupt file is never rated) and keyed by the sha256 of its
content. In a CSV, bad rows are skipped and reported by `file:line`; good rows are written
in chunks as they are checked, so an import killed midway keeps what it committed.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import sys
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from tastevec.client.ratings_store import (
    ImportPlan,
    Rating,
    RatingScale,
    RatingsStore,
    RecordResult,
    ReplacedRating,
    shown_number,
)
from tastevec.common.digests import sha256_bytes
from tastevec.common.errors import ImageError, RatingsError
from tastevec.common.images import check_image, read_image_file
from tastevec.common.os_inputs import read_regular_file

IMAGE_COLUMN = "image"
SCORE_COLUMN = "score"
DETAIL_LINES = 20  # most detail lines ImportReport.lines() shows
# Largest ratings CSV read (it is read whole before anything is recorded): about a million
# rows of typical paths.
CSV_LIMIT = 128 * 2**20
_WORKERS = 2
_WINDOW = 32  # images checked ahead of the row being recorded
_PROGRESS_ABOVE = 100  # rows; smaller imports finish before a bar would help


@dataclass(frozen=True, slots=True)
class SkippedRating:
    """A CSV row left out: where ("file:line") and why (one line)."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did. Counts are per distinct image: `added` were new, `replaced` had
    another score before, `unchanged` were re-imported with the same score. `duplicates`
    notes images rated twice in one CSV; `stored` is the total afterwards."""

    added: int
    replaced: tuple[ReplacedRating, ...]
    unchanged: int
    scale: RatingScale
    stored: int
    skipped: tuple[SkippedRating, ...] = ()
    duplicates: tuple[str, ...] = ()

    @property
    def recorded(self) -> int:
        return self.added + len(self.replaced) + self.unchanged

    def lines(self, *, limit: int = DETAIL_LINES) -> list[str]:
        """A summary line, then up to `limit` lines on skips, duplicates and replacements."""
        summary = (
            f"recorded {_plural(self.recorded, 'rating')} ({self.added} new, "
            f"{len(self.replaced)} replaced, {self.unchanged} unchanged)"
        )
        if self.skipped:
            summary += f"; skipped {_plural(len(self.skipped), 'row')}"
        summary += f"; {_plural(self.stored, 'rating')} stored on scale {self.scale}"
        details = [f"skipped {row.where}: {row.reason}" for row in self.skipped]
        details += list(self.duplicates)
        details += [
            f"replaced {row.path}: {row.old_score:g} -> {row.new_score:g}" for row in self.replaced
        ]
        shown = details[:limit]
        if len(details) > limit:
            shown.append(f"... and {len(details) - limit} more")
        return [summary, *shown]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _report(
    store: RatingsStore,
    result: RecordResult,
    scale: RatingScale,
    skipped: Sequence[SkippedRating] = (),
    duplicates: Sequence[str] = (),
) -> ImportReport:
    return ImportReport(
        added=result.added,
        replaced=result.replaced,
        unchanged=result.unchanged,
        scale=scale,
        stored=store.count(),
        skipped=tuple(skipped),
        duplicates=tuple(duplicates),
    )


def _examine(path: Path) -> tuple[str, str]:
    """Read `path` once and check that it decodes (ImageError if it is not a readable image);
    the sha256 of the bytes checked, and its absolute path."""
    data = read_image_file(path)
    check_image(data, path)
    try:
        return sha256_bytes(data), str(path.resolve())
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise ImageError(f"cannot resolve image path {path}: {exc}") from None


def _score_problem(cell: str, scale: RatingScale) -> tuple[float, str | None]:
    """The score in `cell` and None, or NaN and why it cannot be used."""
    text = cell.strip()
    if not text:
        return float("nan"), "no score given (empty score cell)"
    try:
        score = float(text)
    except ValueError:
        return float("nan"), f"score {text!r} is not a number"
    if not math.isfinite(score):
        return score, f"score {text!r} is not a finite number"
    if not scale.contains(score):
        return score, f"score {shown_number(score)} is outside your scale {scale}"
    return score, None


def rate_image(store: RatingsStore, image: Path, score: float, plan: ImportPlan) -> ImportReport:
    """Rate one image on `plan` (RatingsStore.plan_import). RatingsError for a score off its
    scale, ImageError for a file that is not a readable image (both one line, naming the
    image)."""
    _, problem = _score_problem(repr(float(score)), plan.scale)
    if problem is not None:
        raise RatingsError(f"cannot rate {image}: {problem}")
    sha, path = _examine(image)
    rating = Rating(sha, float(score), path, _now())
    return _report(store, store.record([rating], plan), plan.scale)


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    image: str
    score: float
    path: Path | None  # None: the row is bad for `problem`
    problem: str | None


def import_csv(
    store: RatingsStore,
    csv_path: Path,
    plan: ImportPlan,
    *,
    chunk: int = 500,
    show_progress: bool = True,
) -> ImportReport:
    """Import a CSV with a header naming columns `image` and `score` (any order, others
    ignored; UTF-8, BOM tolerated). Image paths are relative to the CSV's folder unless
    absolute. Bad rows are skipped and reported; the latest row of an image rated twice wins.

    RatingsError (naming the file) for a missing or unreadable CSV (not a regular file, above
    CSV_LIMIT) or a header without the two columns; nothing is recorded then. Rows are
    recorded `chunk` per transaction, each checked against `plan` (RatingsStore.plan_import).
    """
    scale = plan.scale
    rows = _read_rows(csv_path, scale)
    skipped: list[SkippedRating] = []
    duplicates: list[str] = []
    progress = tqdm(
        total=len(rows),
        desc=f"rating {csv_path.name}",
        unit="row",
        file=sys.stderr,
        disable=not show_progress or len(rows) <= _PROGRESS_ABOVE,
        leave=False,
    )
    with progress, closing(_checked(csv_path, rows, skipped, duplicates, progress)) as ratings:
        result = store.record(ratings, plan, chunk=chunk)
    return _report(store, result, scale, skipped, duplicates)


def _checked(
    csv_path: Path,
    rows: list[_Row],
    skipped: list[SkippedRating],
    duplicates: list[str],
    progress: tqdm,
) -> Generator[Rating, None, None]:
    """The good rows as Ratings, in CSV order; bad ones go to `skipped`, images rated again to
    `duplicates`. Two threads decode and hash up to _WINDOW images ahead."""
    seen: dict[str, _Row] = {}  # image digest -> the row that rated it last
    pending: deque[tuple[_Row, Future[tuple[str, str]] | None]] = deque()
    executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="tastevec-rate")
    remaining = iter(rows)
    try:
        while True:
            for row in itertools.islice(remaining, _WINDOW - len(pending)):
                work = None if row.path is None else executor.submit(_examine, row.path)
                pending.append((row, work))
            if not pending:
                break
            row, work = pending.popleft()
            progress.update(1)
            where = f"{csv_path}:{row.line}"
            if work is None:
                skipped.append(SkippedRating(where, row.problem or "unusable row"))
                continue
            try:
                sha, path = work.result()
            except ImageError as exc:
                skipped.append(SkippedRating(where, str(exc)))
                continue
            earlier = seen.get(sha)
            if earlier is not None:
                also = "" if earlier.image == row.image else f" {earlier.image} on"
                duplicates.append(
                    f"{where}: {row.image} rated again (same image as{also} line {earlier.line}); "
                    f"line {row.line} wins"
                )
            seen[sha] = row
            yield Rating(sha, row.score, path, _now())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _read_rows(csv_path: Path, scale: RatingScale) -> list[_Row]:
    """Every data row of the CSV, its cells checked (not yet its image). Reads the whole file
    first, so an unreadable CSV fails before anything is recorded."""
    data = read_regular_file(csv_path, limit=CSV_LIMIT, what="ratings CSV", error=RatingsError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RatingsError(
            f"{csv_path}:{line}: ratings CSV is not UTF-8 text (byte {exc.start})"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RatingsError(
                f"ratings CSV {csv_path} is empty (expected a header with columns image,score)"
            )
        image_at, score_at = _columns(csv_path, header)
        folder = csv_path.parent
        rows: list[_Row] = []
        end = reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            rows.append(_row(line, cells, image_at, score_at, folder, scale))
    except csv.Error as exc:
        raise RatingsError(f"{csv_path}:{reader.line_num}: cannot parse CSV: {exc}") from None
    return rows


def _columns(csv_path: Path, header: list[str]) -> tuple[int, int]:
    names = [cell.strip().lower() for cell in header]
    found = []
    for wanted in (IMAGE_COLUMN, SCORE_COLUMN):
        if names.count(wanted) != 1:
            problem = "no" if wanted not in names else "more than one"
            listed = ", ".join(repr(cell.strip()) for cell in header) or "nothing"
            raise RatingsError(
                f"{csv_path}:1: header has {problem} {wanted!r} column (found {listed}); "
                f"expected columns {IMAGE_COLUMN},{SCORE_COLUMN}"
            )
        found.append(names.index(wanted))
    return found[0], found[1]


def _row(
    line: int, cells: list[str], image_at: int, score_at: int, folder: Path, scale: RatingScale
) -> _Row:
    image = cells[image_at].strip() if image_at < len(cells) else ""
    score, problem = _score_problem(cells[score_at] if score_at < len(cells) else "", scale)
    if not image:
        problem = "no image given (empty image cell)"
    if problem is not None:
        return _Row(line, image, score, None, problem)
    path = Path(image)
    return _Row(line, image, score, path if path.is_absolute() else folder / path, None)
