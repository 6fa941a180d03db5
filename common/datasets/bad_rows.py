"""What a loader does with a bad row: raise a one-line error naming file and line, or skip it."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

from tastevec.common.datasets.records import SkippedRow
from tastevec.common.errors import DatasetError

logger = logging.getLogger(__name__)


class OnBadRow(StrEnum):
    RAISE = "raise"
    SKIP = "skip"


def where(path: Path, line: int | None = None) -> str:
    return f"{path}:{line}" if line is not None else str(path)


class BadRows:
    """Collects bad rows under a policy; `raise` stops at the first, `skip` counts them all."""

    def __init__(self, policy: OnBadRow | str = OnBadRow.RAISE) -> None:
        try:
            self.policy = OnBadRow(policy)
        except ValueError:
            raise DatasetError(f"on_bad_row must be 'raise' or 'skip', got {policy!r}") from None
        self._skipped: list[SkippedRow] = []

    def report(self, path: Path, line: int | None, reason: str) -> None:
        """A bad row: raises DatasetError under `raise`; remembers it under `skip`."""
        row = SkippedRow(where(path, line), reason.replace("\n", "\\n"))
        if self.policy is OnBadRow.RAISE:
            raise DatasetError(str(row))
        self._skipped.append(row)

    def skipped(self) -> tuple[SkippedRow, ...]:
        if self._skipped:
            logger.warning("skipped %d bad rows; first: %s", len(self._skipped), self._skipped[0])
        return tuple(self._skipped)
