"""One federated run of the product's apps over simulated people, in Flower's simulation
engine (Ray), in this process: the ServerApp and ClientApp as a deployment runs them, each
person a virtual SuperNode on their own home. Returns what the run logged per round, its
wall time and the peak memory of each virtual client's process (Ray's workers, read from
/proc while the run goes)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flwr.clientapp.typing import Mod
from flwr.simulation import run_simulation

from tastevec.client.flower_client import client_app
from tastevec.server.flower_server import ROUNDS_LOG, server_app
from tastevec.simulations.federation.population_homes import Population


@dataclass(frozen=True, slots=True)
class FederatedRun:
    releases: Path
    rounds: tuple[dict[str, Any], ...]  # ROUNDS_LOG's lines, one per round
    seconds: float
    client_peaks_mib: tuple[float, ...]  # each Ray worker's peak resident memory


def run_federation(
    population: Population,
    releases: Path,
    start: str,
    key: Path,
    trust: Path,
    *,
    people: int | None = None,
    config: Mapping[str, Any] | None = None,
    extra_mods: Sequence[Mod] = (),
) -> FederatedRun:
    """Run the ServerApp from release `start` in `releases` (a run folder of its own) over the
    first `people` homes (all by default); `config`: more run config (kebab-case)."""
    count = population.people if people is None else people
    watch = _WorkerMemory()
    watch.start()
    started = time.perf_counter()
    try:
        run_simulation(
            server_app=server_app(
                releases=str(releases), **{"release-id": start, "key": str(key), **(config or {})}
            ),
            client_app=client_app(
                homes=population.homes, releases=releases, trust=trust, extra_mods=extra_mods
            ),
            num_supernodes=count,
            backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
        )
    finally:
        seconds = time.perf_counter() - started
        watch.stop()
    log = releases / ROUNDS_LOG
    lines = log.read_text().splitlines() if log.is_file() else []
    return FederatedRun(releases, tuple(json.loads(line) for line in lines), seconds, watch.peaks())


class _WorkerMemory(threading.Thread):
    """Polls this process's descendants that are Ray workers (their title starts `ray::`)
    and keeps each one's peak resident set (VmHWM)."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self._done = threading.Event()
        self._peaks: dict[int, float] = {}

    def run(self) -> None:
        while not self._done.wait(self.interval):
            for pid in _descendants(os.getpid()):
                peak = _ray_worker_peak_mib(pid)
                if peak is not None:
                    self._peaks[pid] = max(peak, self._peaks.get(pid, 0.0))

    def stop(self) -> None:
        self._done.set()
        self.join()

    def peaks(self) -> tuple[float, ...]:
        return tuple(sorted(self._peaks.values()))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _ray_worker_peak_mib(pid: int) -> float | None:
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        if not title.startswith(b"ray::"):
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
