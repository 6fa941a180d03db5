"""The report's stages, kept on disk as each finishes, so that a report cut short (a killed
process, a machine taken back) resumes where it stopped: a finished stage is read back, not
run again. A federated run cut short cannot be repeated on the same homes (their devices have
moved on to newer releases, and a device never goes back), so it is refused, not rerun."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import TastevecError
from tastevec.simulations.federation.federated_run import FederatedRun
from tastevec.simulations.people.prior_evaluation import PersonScores

T = TypeVar("T")


class Stages:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def done(self, name: str) -> bool:
        return self._path(name).is_file()

    def get(
        self,
        name: str,
        compute: Callable[[], T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> T:
        path = self._path(name)
        if path.is_file():
            try:
                return decode(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError) as exc:
                raise TastevecError(f"report stage {path} is damaged ({exc}); delete it") from None
        value = compute()
        write_atomic(path, json.dumps(encode(value)).encode())
        return value

    def federated(self, name: str, runs: Path, compute: Callable[[], FederatedRun]) -> FederatedRun:
        """A federated run's outcome, run once: `runs/name` left without a finished stage
        means it was cut short mid-run, which cannot be repeated on these homes."""
        if not self.done(name) and (runs / name).exists():
            raise TastevecError(
                f"report stage {name} was cut short mid-run and its devices have moved on; "
                "start the report again on an empty --scratch"
            )
        return self.get(name, compute, encode_run, decode_run)

    def scores(self, name: str, compute: Callable[[], PersonScores]) -> PersonScores:
        return self.get(name, compute, encode_scores, decode_scores)

    def lines(self, name: str, compute: Callable[[], list[str]]) -> list[str]:
        return self.get(name, compute, lambda v: v, lambda v: [str(line) for line in v])

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.json"


def encode_run(run: FederatedRun) -> dict[str, Any]:
    return {
        "releases": str(run.releases),
        "rounds": list(run.rounds),
        "seconds": run.seconds,
        "client_peaks_mib": list(run.client_peaks_mib),
    }


def decode_run(data: dict[str, Any]) -> FederatedRun:
    return FederatedRun(
        Path(data["releases"]),
        tuple(data["rounds"]),
        float(data["seconds"]),
        tuple(float(v) for v in data["client_peaks_mib"]),
    )


def encode_scores(scores: PersonScores) -> dict[str, Any]:
    return {
        "people": list(scores.people),
        "srocc": [[condition, shots, list(v)] for (condition, shots), v in scores.srocc.items()],
    }


def decode_scores(data: dict[str, Any]) -> PersonScores:
    return PersonScores(
        tuple(data["people"]),
        {(str(c), int(s)): tuple(float(x) for x in v) for c, s, v in data["srocc"]},
    )
