"""Real processes a benchmark or a test starts and must stop, by pid, whatever happens.

Each process is started as the leader of its own process group, so what it spawns (Flower's
SuperExec and the app processes it launches) is stopped with it: SIGTERM to the group, then
SIGKILL to whatever is left after a grace period. Each also carries a marker in its
environment, inherited by every descendant, so that a last sweep finds anything that left
the group (`processes_with`).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tastevec.common.errors import TastevecError

GRACE_SECONDS = 10.0


def processes_with(variable: str, value: str) -> list[int]:
    """The pids whose environment sets `variable` to `value` (Linux: read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"{variable}={value}".encode() in environ:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stop_pids(pids: Sequence[int], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM each pid, then SIGKILL those still running after `grace` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def stop_process(process: subprocess.Popen[Any], grace: float = GRACE_SECONDS) -> None:
    """Stop one process this program started, by its pid: SIGTERM, then SIGKILL if it still
    runs after `grace` seconds; reaped either way."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class OwnedProcesses:
    """Processes started under names, each its own process group marked with `marker`
    (`variable=value` in its environment); `close()` (or leaving the `with`) stops them all."""

    def __init__(self, variable: str, value: str) -> None:
        self.variable, self.value = variable, value
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: dict[str, str],
        log: Path,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        if name in self.running and self.running[name].poll() is None:
            raise RuntimeError(f"process {name} is already running")
        with log.open("ab") as output:
            process = subprocess.Popen(
                list(args),
                env={**env, self.variable: self.value},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL `name` and its whole group at once: the machine it ran on went away."""
        process = self.running[name]
        _signal_group(process, signal.SIGKILL)
        process.wait()
        self._wait_group(process.pid, 5.0)

    def stop(self, name: str, grace: float = GRACE_SECONDS) -> None:
        """SIGTERM `name`'s group, then SIGKILL what is left after `grace` seconds."""
        process = self.running[name]
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
        if not self._wait_group(process.pid, 1.0):
            _signal_group(process, signal.SIGKILL)
            self._wait_group(process.pid, 5.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5.0)

    def close(self) -> None:
        for name in reversed(list(self.running)):
            self.stop(name)
        stop_pids(processes_with(self.variable, self.value))

    def left_running(self) -> list[int]:
        """Pids still marked as ours (after `close()`: none)."""
        return processes_with(self.variable, self.value)

    def _wait_group(self, pgid: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while _group_members(pgid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def __enter__(self) -> OwnedProcesses:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def start_release_service(
    owned: OwnedProcesses,
    store: Path,
    *,
    tls_cert: Path,
    tls_key: Path,
    token: Path,
    env: dict[str, str],
    log: Path,
) -> None:
    """A real `tastevec-server serve` of `store` with TLS and a writer token, on a free port
    of 127.0.0.1, owned as "release-service"; `release_service_address(log)` waits for it."""
    owned.start(
        "release-service",
        [
            str(Path(sys.executable).with_name("tastevec-server")),
            "serve",
            "--store",
            str(store),
            "--port",
            "0",
            "--tls-cert",
            str(tls_cert),
            "--tls-key",
            str(tls_key),
            "--writer-token-file",
            str(token),
        ],
        env=env,
        log=log,
    )


def release_service_address(log: Path, seconds: float = 60.0) -> str:
    """HOST:PORT of the release service that logs to `log`, once it has said it serves."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = re.findall(r"on 127\.0\.0\.1:(\d+)", log.read_text() if log.exists() else "")
        if found:
            return f"127.0.0.1:{found[0]}"
        time.sleep(0.2)
    raise TastevecError(f"the release service did not start within {seconds:g} s; see {log}")
