"""Per-image values derived for fitting, cached in SQLite so that each image is run once.

A row holds, for one image under one release and one expansion point: the score at the
expansion point, each task vector's own score, and the per-tensor Jacobian (float32). The
values come from the image alone, never from its rating, but they are still the person's
data: the cache lives in their home and `forget` deletes it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from tastevec.common.errors import RatingsError

FloatArray = npt.NDArray[np.float32]
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS image_values ("
    "release_id TEXT NOT NULL, expansion TEXT NOT NULL, image_sha256 TEXT NOT NULL, "
    "value BLOB NOT NULL, PRIMARY KEY (release_id, expansion, image_sha256))"
)


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
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    def open(cls, path: Path) -> ImageCache:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, timeout=30.0)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            connection.commit()
        except sqlite3.DatabaseError as exc:
            raise RatingsError(f"image cache {path} cannot be used: {exc}") from None
        return cls(connection)

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
        release_id: str,
        expansion: str,
        images: Iterable[str],
        *,
        tensors: int,
        vectors: int,
    ) -> dict[str, ImageValues]:
        found = {}
        for image in images:
            row = self._connection.execute(
                "SELECT value FROM image_values "
                "WHERE release_id = ? AND expansion = ? AND image_sha256 = ?",
                (release_id, expansion, image),
            ).fetchone()
            if row is not None:
                found[image] = ImageValues.from_bytes(row[0], tensors, vectors)
        return found

    def put(self, release_id: str, expansion: str, values: Mapping[str, ImageValues]) -> None:
        with self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO image_values VALUES (?, ?, ?, ?)",
                [(release_id, expansion, k, v.to_bytes()) for k, v in values.items()],
            )


def delete_cache(path: Path) -> None:
    """Delete the cache file and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
