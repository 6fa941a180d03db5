"""Per-image values derived for fitting, cached in SQLite so that each image is run once.

A row holds, for one image under one model (`Manifest.model_id`: a release that differs only
in its prior, such as a federated round's delta, keeps the rows) and one expansion point: the
score at the expansion point, each task vector's own score, and the per-tensor Jacobian
(float32). The values come from the image alone, never from its rating, but they are still
the person's data: the cache lives in their home and `forget` deletes it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from tastevec.common.errors import RatingsError
from tastevec.common.os_inputs import create_private_file

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS model_image_values ("
    "model_id TEXT NOT NULL, expansion TEXT NOT NULL, image_sha256 TEXT NOT NULL, "
    "value BLOB NOT NULL, PRIMARY KEY (model_id, expansion, image_sha256))"
)
_OLD_TABLE = "image_values"  # keyed by release id: derived values only, dropped on open


@dataclass(frozen=True, slots=True)
class ImageValues:
    """An image's score at the expansion point, task vectors' own scores [K], Jacobian [T, K]."""

    score: float
    single_scores: FloatArray
    jacobian: FloatArray

    def to_bytes(self) -> bytes:
        parts = [
            np.array([self.score], np.float32),
            self.single_scores.astype(np.float32).ravel(),
            self.jacobian.astype(np.float32).ravel(),
        ]
        return np.concatenate(parts).astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, tensors: int, vectors: int) -> ImageValues:
        flat = np.frombuffer(data, dtype="<f4")
        if flat.size != 1 + vectors + tensors * vectors:
            raise RatingsError(f"image cache row has {flat.size} values; expected another shape")
        return cls(
            float(flat[0]),
            flat[1 : 1 + vectors].copy(),
            flat[1 + vectors :].reshape(tensors, vectors).copy(),
        )


class ImageCache:
    """The cache, opened. It holds only values derived from images, so a damaged cache file is
    never an error: it is deleted and started again (logged), and the fit recomputes what it
    needs."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    @classmethod
    def open(cls, path: Path) -> ImageCache:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            logger.warning("image cache %s is not a regular file; starting it again", path)
        else:
            try:
                return cls(path, _connect(path))
            except sqlite3.DatabaseError as exc:
                logger.warning("image cache %s is damaged (%s); starting it again", path, exc)
        delete_cache(path)
        try:
            return cls(path, _connect(path))
        except sqlite3.Error as exc:
            raise RatingsError(f"image cache {path} cannot be used: {exc}") from None

    def __enter__(self) -> ImageCache:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._connection.close()

    def get(
        self,
        model_id: str,
        expansion: str,
        images: Iterable[str],
        *,
        tensors: int,
        vectors: int,
    ) -> dict[str, ImageValues]:
        """The cached values of `images` (missing ones left out; a row of another shape, or a
        cache that turns out damaged, counts as missing)."""
        found = {}
        with self._damage_is_an_error():
            for image in images:
                row = self._connection.execute(
                    "SELECT value FROM model_image_values "
                    "WHERE model_id = ? AND expansion = ? AND image_sha256 = ?",
                    (model_id, expansion, image),
                ).fetchone()
                if row is None:
                    continue
                try:
                    found[image] = ImageValues.from_bytes(row[0], tensors, vectors)
                except (RatingsError, TypeError, ValueError):
                    logger.warning("image cache %s: a row of another shape; recomputing", self.path)
        return found

    def put(self, model_id: str, expansion: str, values: Mapping[str, ImageValues]) -> None:
        rows = [(model_id, expansion, k, v.to_bytes()) for k, v in values.items()]
        with self._damage_is_an_error(), self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO model_image_values VALUES (?, ?, ?, ?)", rows
            )

    @contextlib.contextmanager
    def _damage_is_an_error(self) -> Iterator[None]:
        """Damage found while the cache is in use: delete it (the next open starts it again)
        and say so in one line."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            self._connection.close()
            delete_cache(self.path)
            raise RatingsError(
                f"image cache {self.path} was damaged while in use ({exc}); it holds only "
                "values derived from your images and was deleted: run the command again"
            ) from None


def _connect(path: Path) -> sqlite3.Connection:
    """Open (creating it private, 0600) and check the cache: its schema, and a quick check
    that reads every page, so damage shows here rather than midway through a fit."""
    try:
        create_private_file(path)  # SQLite gives its -wal and -shm files the same mode
    except OSError as exc:
        raise RatingsError(f"cannot create image cache {path}: {exc.strerror or exc}") from None
    connection = sqlite3.connect(path, timeout=30.0)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(_SCHEMA)
        connection.execute(f"DROP TABLE IF EXISTS {_OLD_TABLE}")
        connection.commit()
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {verdict}")
    except BaseException:
        connection.close()
        raise
    return connection


def delete_cache(path: Path) -> None:
    """Delete the cache file and its WAL files; RatingsError (naming the file) if one cannot
    be deleted."""
    for suffix in ("", "-wal", "-shm"):
        name = Path(f"{path}{suffix}")
        try:
            name.unlink(missing_ok=True)
        except OSError as exc:
            raise RatingsError(f"cannot delete image cache {name}: {exc.strerror or exc}") from None
