"""Reproducible splits where a database publishes none: by seeded hash, independent of order."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable

from tastevec.common.errors import DatasetError


def _rank(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{key}".encode()).digest()


def seeded_test_keys(keys: Iterable[str], test_fraction: float, seed: int) -> frozenset[str]:
    """round(n * test_fraction) of the distinct `keys`, chosen by seeded hash.

    The choice depends only on the set of keys and the seed, not on their order, so a
    database re-exported in another row order splits the same way.
    """
    if not 0.0 <= test_fraction <= 1.0:
        raise DatasetError(f"test_fraction must lie in [0, 1], got {test_fraction}")
    distinct = sorted(set(keys), key=lambda key: _rank(seed, key))
    return frozenset(distinct[: round(len(distinct) * test_fraction)])


def given_test_keys(keys: Collection[str], test_keys: Collection[str], what: str) -> frozenset[str]:
    """`test_keys` checked against the keys the database has; unknown ones are an error."""
    unknown = sorted(set(test_keys) - set(keys))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise DatasetError(f"{len(unknown)} test {what} not in the database: {shown}")
    return frozenset(test_keys)
