"""The device's private ratings database: one SQLite file of (image digest, score) and its scale.

Ratings are keyed by the sha256 of the image's content, so a moved or renamed file keeps its
rating; `path` only remembers where the image was last seen. The file is SQLite in WAL mode
with `synchronous=FULL`, so a process killed mid-import leaves a readable database holding
every transaction committed before the kill. A file that is not this database (another
SQLite schema, a newer version, not SQLite at all) is refused and never written to.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tastevec.common.errors import RatingsError
from tastevec.common.os_inputs import create_private_file, open_regular_file

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
_SQLITE_HEADER = b"SQLite format 3\x00"
_SCALE_KEY = "scale"
_GENERATION_KEY = "generation"  # advanced by every forget; an import started before it stops
_NUMBER = r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_SCALE_PATTERN = re.compile(rf"\s*({_NUMBER})\s*-\s*({_NUMBER})\s*")
_SCHEMA = (
    "CREATE TABLE ratings ("
    "image_sha256 TEXT PRIMARY KEY, score REAL NOT NULL, path TEXT NOT NULL, "
    "rated_at TEXT NOT NULL)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
# Column names and declared types of each table, as PRAGMA table_info reports them.
_COLUMNS = {
    "ratings": (
        ("image_sha256", "TEXT"),
        ("score", "REAL"),
        ("path", "TEXT"),
        ("rated_at", "TEXT"),
    ),
    "meta": (("key", "TEXT"), ("value", "TEXT")),
}


def _number(value: float) -> str:
    """`value` as parse_scale reads it back: "10" rather than "10.0", else Python's repr."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True, slots=True)
class RatingScale:
    """The range a person rates on, `low` (worst) to `high` (best), both included."""

    low: float
    high: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", float(self.low))  # RatingScale(1, 10) holds floats
        object.__setattr__(self, "high", float(self.high))
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"rating scale needs finite low < high, got {self.low}..{self.high}")

    def contains(self, score: float) -> bool:
        return math.isfinite(score) and self.low <= score <= self.high

    def __str__(self) -> str:
        return f"{_number(self.low)}-{_number(self.high)}"


DEFAULT_SCALE = RatingScale(1, 10)


def shown_number(value: float) -> str:
    """`value` as a person typed it: 5 as "5", 5.0000001 as "5.0000001" (`:g` would round
    it to "5", and "5 is outside 1-5" says nothing)."""
    return format(float(value), ".15g")


def parse_scale(text: str) -> RatingScale:
    """ "1-10", "0-100", "0.5-5" -> RatingScale; RatingsError naming `text` for anything else."""
    match = _SCALE_PATTERN.fullmatch(text)
    if match is None:
        raise RatingsError(f"rating scale {text!r} is not LOW-HIGH (for example 1-10 or 0-100)")
    low, high = float(match[1]), float(match[2])
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RatingsError(f"rating scale {text!r} has a bound that is not a finite number")
    if low >= high:
        raise RatingsError(f"rating scale {text!r} needs LOW below HIGH")
    return RatingScale(low, high)


@dataclass(frozen=True, slots=True)
class Rating:
    """One image's score; `path` is where the image was last seen (absolute), `rated_at` is
    ISO-8601 UTC."""

    image_sha256: str
    score: float
    path: str
    rated_at: str


@dataclass(frozen=True, slots=True)
class ReplacedRating:
    """An image whose stored score changed: where it was seen last, the old and new score."""

    path: str
    old_score: float
    new_score: float


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What one `record` call did, counted per distinct image: `added` were not stored
    before, `replaced` had another score, `unchanged` had the same score (re-imported)."""

    added: int
    replaced: tuple[ReplacedRating, ...]
    unchanged: int

    @property
    def recorded(self) -> int:
        return self.added + len(self.replaced) + self.unchanged


class RatingsBusyError(RatingsError):
    """The ratings database stayed locked by another process (it is not damaged)."""


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import records on: the scale its scores were read on, and the store's
    generation when it started (see RatingsStore.plan_import)."""

    scale: RatingScale
    generation: int


def _switch_refused(stored: RatingScale, requested: RatingScale, count: int) -> str:
    return (
        f"your ratings use scale {stored}; cannot switch to {requested} while "
        f"{count} rating{'s' if count != 1 else ''} {'are' if count != 1 else 'is'} stored "
        "(tastevec-client forget to start over)"
    )


def _no_scale(path: Path, count: int) -> str:
    return (
        f"ratings database {path} holds {count} rating{'s' if count != 1 else ''} but no "
        "scale (left by an interrupted forget); run tastevec-client forget --yes to start over"
    )


class RatingsStore:
    """An open ratings database. Use `RatingsStore.open(path)` as a context manager.

    One connection, used from the thread that opened it. Every write is its own transaction
    (`record` commits one per chunk); readers in other processes see committed data only.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: str | Path) -> RatingsStore:
        """Open the database at `path`, creating it (and its folder, private to this user)
        with the current schema if it does not exist. RatingsError (naming the file) for a
        file that is not a tastevec ratings database; such a file is not modified."""
        path = Path(path)
        _check_header(path)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            create_private_file(path)  # SQLite gives its log files the same mode
        except OSError as exc:
            raise RatingsError(
                f"cannot create ratings database {path}: {exc.strerror or exc}"
            ) from None
        try:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise RatingsError(f"cannot open ratings database {path}: {exc}") from None
        store = cls(path, connection)
        try:
            store._prepare()
        except BaseException:
            connection.close()
            raise
        return store

    def _prepare(self) -> None:
        with self._errors("open"):
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._check_schema()  # before anything writes: a foreign file stays as it was
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("ratings database %s stays in journal mode %s", self.path, mode)
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA secure_delete = ON")  # deleted rows are zeroed on disk
            with self._transaction():
                if self._check_schema() == 0:
                    for statement in _SCHEMA:
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_schema(self) -> int:
        """The file's schema version: 0 for an empty database, SCHEMA_VERSION for ours;
        RatingsError for anything else."""
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            row[0]
            for row in self._db.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
        }
        if version == 0 and not tables:
            return 0
        if version > SCHEMA_VERSION:
            raise RatingsError(
                f"ratings database {self.path} has schema version {version}, newer than this "
                f"tastevec-client reads ({SCHEMA_VERSION}); upgrade tastevec"
            )
        found = {
            name: tuple(
                (row[1], str(row[2]).upper())
                for row in self._db.execute(f"PRAGMA table_info('{name}')")
            )
            for name in tables
            if name in _COLUMNS
        }
        if version != SCHEMA_VERSION or tables != set(_COLUMNS) or found != _COLUMNS:
            raise RatingsError(
                f"{self.path} is a SQLite database of another kind (schema version {version}, "
                f"tables {', '.join(sorted(tables)) or 'none'}), not a tastevec ratings database"
            )
        return version

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RatingsStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """SQLite's own failures (locked, corrupt, disk full) as one-line RatingsErrors."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise RatingsBusyError(
                    f"cannot {action} ratings database {self.path}: it stayed locked for "
                    f"{BUSY_TIMEOUT_S:g} s (another tastevec-client command using it?)"
                ) from None
            raise RatingsError(f"cannot {action} ratings database {self.path}: {exc}") from None
        except sqlite3.Error as exc:
            raise RatingsError(f"cannot {action} ratings database {self.path}: {exc}") from None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception, KeyboardInterrupt too."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back already
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def scale(self) -> RatingScale | None:
        """The stored scale, or None before the first rating settles one."""
        with self._errors("read"):
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (_SCALE_KEY,)).fetchone()
        if row is None:
            return None
        try:
            return parse_scale(str(row[0]))
        except RatingsError:
            raise RatingsError(
                f"ratings database {self.path} holds an unreadable scale {row[0]!r}"
            ) from None

    def plan_import(self, requested: RatingScale | None) -> ImportPlan:
        """What an import will record on, read without writing: the stored scale, or
        `requested` (default 1-10) when none is stored or no rating is stored yet; and the
        store's generation, which `forget` advances. `record` checks both again in the same
        transaction as each chunk of rows, so a concurrent import or forget cannot mix scales
        or leave ratings without one.

        RatingsError when `requested` differs from the stored scale while ratings are stored
        (ratings on two scales cannot be mixed)."""
        with self._errors("read"):
            stored, count, generation = self.scale(), self.count(), self._generation()
        if stored is not None and count and requested is not None and requested != stored:
            raise RatingsError(_switch_refused(stored, requested, count))
        if requested is None:
            requested = stored or DEFAULT_SCALE
        return ImportPlan(requested, generation)

    def record(
        self, ratings: Iterable[Rating], plan: ImportPlan, *, chunk: int = 500
    ) -> RecordResult:
        """Store `ratings` (consumed lazily) on `plan`'s scale, replacing earlier ratings of
        the same image; the latest wins. One transaction per `chunk` ratings, so a process
        killed midway keeps every chunk committed before it. A re-imported image with the
        same score keeps its `rated_at` and updates only its `path`.

        Each chunk's transaction first checks that the store still uses `plan`'s scale
        (settling it with the first rows when none is stored) and that no `forget` ran since
        the plan was made; RatingsError otherwise, and for a score off the scale, after the
        chunks before it are committed."""
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        before: dict[str, float | None] = {}  # score stored before this call, per image
        latest: dict[str, tuple[float, str]] = {}  # score and path written last, per image
        pending: list[Rating] = []
        for rating in ratings:
            if not plan.scale.contains(rating.score):
                self._write(pending, plan, before, latest)
                raise RatingsError(
                    f"score {shown_number(rating.score)} of {rating.path} is outside your "
                    f"scale {plan.scale}"
                )
            pending.append(rating)
            if len(pending) >= chunk:
                self._write(pending, plan, before, latest)
                pending = []
        self._write(pending, plan, before, latest)
        added = unchanged = 0
        replaced: list[ReplacedRating] = []
        for sha, (score, path) in latest.items():
            old = before[sha]
            if old is None:
                added += 1
            elif old == score:
                unchanged += 1
            else:
                replaced.append(ReplacedRating(path, old, score))
        return RecordResult(added, tuple(replaced), unchanged)

    def _write(
        self,
        chunk: list[Rating],
        plan: ImportPlan,
        before: dict[str, float | None],
        latest: dict[str, tuple[float, str]],
    ) -> None:
        if not chunk:
            return
        with self._errors("write"), self._transaction():
            self._check_plan(plan, recorded=len(latest))
            for rating in chunk:
                if rating.image_sha256 not in before:
                    row = self._db.execute(
                        "SELECT score FROM ratings WHERE image_sha256 = ?", (rating.image_sha256,)
                    ).fetchone()
                    before[rating.image_sha256] = None if row is None else float(row[0])
                self._db.execute(
                    "INSERT INTO ratings (image_sha256, score, path, rated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (image_sha256) DO UPDATE SET "
                    "rated_at = CASE WHEN score = excluded.score THEN rated_at "
                    "ELSE excluded.rated_at END, "
                    "score = excluded.score, path = excluded.path",
                    (rating.image_sha256, float(rating.score), rating.path, rating.rated_at),
                )
        for rating in chunk:  # only once committed
            latest[rating.image_sha256] = (float(rating.score), rating.path)

    def _check_plan(self, plan: ImportPlan, *, recorded: int) -> None:
        """Inside a write transaction: the store still matches `plan` (settle its scale if
        none is stored); RatingsError naming what changed since the plan was made."""
        kept = (
            f"{recorded} rating{'s' if recorded != 1 else ''} of this import recorded before"
            if recorded
            else "nothing of this import recorded"
        )
        if self._generation() != plan.generation:
            raise RatingsError(
                f"your ratings in {self.path} were forgotten while this import ran; it stopped "
                f"({kept}, and deleted by the forget)"
            )
        stored, count = self.scale(), self.count()
        if stored == plan.scale:
            return
        if stored is not None and count:
            raise RatingsError(
                f"another import settled your scale as {stored} while this one read scores on "
                f"{plan.scale}; it stopped ({kept}). Import again with --scale {stored}"
            )
        if stored is None and count:
            raise RatingsError(_no_scale(self.path, count))
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (_SCALE_KEY, str(plan.scale)),
        )

    def _generation(self) -> int:
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (_GENERATION_KEY,)
        ).fetchone()
        try:
            return 0 if row is None else int(row[0])
        except ValueError:
            raise RatingsError(
                f"ratings database {self.path} holds an unreadable generation {row[0]!r}"
            ) from None

    def scale_of_ratings(self) -> RatingScale:
        """The scale the stored ratings are on; RatingsError when ratings are stored without
        one (left by an interrupted forget of an older tastevec-client)."""
        stored, count = self.scale(), self.count()
        if stored is not None:
            return stored
        if count:
            raise RatingsError(_no_scale(self.path, count))
        return DEFAULT_SCALE

    def ratings(self) -> list[Rating]:
        """Every stored rating, oldest first (ties by image digest)."""
        with self._errors("read"):
            rows = self._db.execute(
                "SELECT image_sha256, score, path, rated_at FROM ratings "
                "ORDER BY rated_at, image_sha256"
            ).fetchall()
        return [Rating(str(sha), float(score), str(path), str(at)) for sha, score, path, at in rows]

    def rating(self, image_sha256: str) -> Rating | None:
        """The stored rating of the image with this content digest, or None."""
        with self._errors("read"):
            row = self._db.execute(
                "SELECT image_sha256, score, path, rated_at FROM ratings WHERE image_sha256 = ?",
                (image_sha256,),
            ).fetchone()
        return None if row is None else Rating(str(row[0]), float(row[1]), str(row[2]), str(row[3]))

    def remove(self, image_sha256: str) -> bool:
        """Delete one image's rating (one transaction; for undo); False if none was stored."""
        with self._errors("write"), self._transaction():
            cursor = self._db.execute("DELETE FROM ratings WHERE image_sha256 = ?", (image_sha256,))
        return cursor.rowcount > 0

    def count(self) -> int:
        with self._errors("read"):
            return int(self._db.execute("SELECT count(*) FROM ratings").fetchone()[0])

    def last_rated(self) -> str | None:
        """When the newest rating was made (ISO-8601 UTC), or None without ratings."""
        with self._errors("read"):
            value = self._db.execute("SELECT max(rated_at) FROM ratings").fetchone()[0]
        return None if value is None else str(value)

    def forget(self) -> int:
        """Delete every rating and the stored scale, and advance the generation so that an
        import running meanwhile stops before its next chunk (one transaction: an import's
        rows are either deleted or never written); returns how many ratings were deleted.

        The file is then vacuumed and the write-ahead log truncated, so the deleted scores
        and paths do not linger on disk (unless another process holds the database open,
        which keeps the log from being truncated; logged as a warning)."""
        with self._errors("clear"):
            with self._transaction():
                deleted = self.count()
                self._db.execute("DELETE FROM ratings")
                self._db.execute("DELETE FROM meta WHERE key = ?", (_SCALE_KEY,))
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (_GENERATION_KEY, str(self._generation() + 1)),
                )
            self._db.execute("VACUUM")
            busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            logger.warning(
                "ratings database %s is open elsewhere; its write-ahead log was not truncated",
                self.path,
            )
        return int(deleted)


def _check_header(path: Path) -> None:
    """RatingsError unless `path` is absent, empty, or starts like a SQLite database."""
    if not path.exists() and not path.is_symlink():
        return
    # a regular file only: SQLite would block on a FIFO and read a device forever
    with open_regular_file(path, what="ratings database", error=RatingsError) as (handle, _):
        header = handle.read(len(_SQLITE_HEADER))
    if header and header != _SQLITE_HEADER:
        raise RatingsError(
            f"{path} is not a tastevec ratings database (not a SQLite file); "
            "move it away or use another --home"
        )
