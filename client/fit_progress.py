"""How far the device's fit has got: stages and fractions, for whoever shows them.

The fit (`fitting.fit_profile`, `personal_fit.fit_personal_model`, `fast_fit.rated_values`)
takes an optional `progress` callback and calls it with a `FitProgress` at each step: the
stage in words, its own count (images embedded i of N, ...) and the fraction of the whole
fit done. Each part reports over its own 0-1 range; `within` maps that range onto its share
of the caller's, and `monotone` makes sure whoever listens never sees the fraction go back.
The CLI shows it as a progress bar on a terminal, the page as a bar with the stage's text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tastevec.common.errors import FitError


@dataclass(frozen=True, slots=True)
class FitProgress:
    stage: str  # what the fit is doing, in words
    done: int  # of this stage's `total` steps (images, passes); 0 of 0 for a single step
    total: int
    fraction: float  # of the whole fit, 0-1

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise FitError(f"fit progress {self.fraction} is not within 0-1")
        if not 0 <= self.done <= self.total:
            raise FitError(f"fit progress {self.done} of {self.total} is not a count")

    def as_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "fraction": round(self.fraction, 4),
        }


ProgressCallback = Callable[[FitProgress], None]


def report(progress: ProgressCallback | None, stage: str, done: int, total: int) -> None:
    """Tell `progress` (if any) that `done` of `total` steps of `stage` are done (the stage's
    own range: done/total, or 1 for a stage of no steps)."""
    if progress is not None:
        fraction = 1.0 if total == 0 else min(1.0, max(0.0, done / total))
        progress(FitProgress(stage, done, total, fraction))


def within(progress: ProgressCallback | None, start: float, end: float) -> ProgressCallback | None:
    """A callback for a part of the fit that reports over its own 0-1 range, mapped onto
    `start`-`end` of `progress`'s range."""
    if progress is None:
        return None
    if not 0.0 <= start <= end <= 1.0:
        raise FitError(f"fit progress range {start}-{end} is not within 0-1")
    outer = progress

    def mapped(step: FitProgress) -> None:
        fraction = start + (end - start) * step.fraction
        outer(FitProgress(step.stage, step.done, step.total, fraction))

    return mapped


def monotone(progress: ProgressCallback) -> ProgressCallback:
    """`progress`, never told a smaller fraction than it was told before (thread-safe)."""
    lock = threading.Lock()
    highest = [0.0]

    def forward(step: FitProgress) -> None:
        with lock:
            highest[0] = max(highest[0], step.fraction)
            fraction = highest[0]
        progress(FitProgress(step.stage, step.done, step.total, fraction))

    return forward
