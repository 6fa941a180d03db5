"""A `tastevec-client` command in a fresh process, as a person runs it: its seconds from
start-up to exit and its peak resident memory."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tastevec.common.errors import TastevecError

# Runs a command with its stdout in a file and prints the command's peak resident set (KiB):
# a wrapper of its own, so that each figure is that one process's peak.
_PEAK_WRAPPER = """
import resource, subprocess, sys
with open(sys.argv[1], "wb") as out:
    code = subprocess.run(sys.argv[2:], stdout=out).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
"""
_CLIENT = "from tastevec.client.cli import console; console()"  # the console script's own


@dataclass(frozen=True, slots=True)
class ClientRun:
    seconds: float  # wall clock, start-up included
    peak_bytes: int  # the command's peak resident set
    stdout: Path  # where its output went


def run_client(args: list[str], stdout: Path) -> ClientRun:
    """`tastevec-client ARGS` in a fresh interpreter; TastevecError with its last words if it
    fails."""
    return _run_python(_CLIENT, args, stdout, f"tastevec-client {args[0]}")


def run_imports(modules: str, stdout: Path) -> ClientRun:
    """A fresh interpreter that only imports `modules` (e.g. what a command loads before its
    work) and ends as the client does (`exit_without_teardown`): the start-up a command
    cannot go below."""
    code = (
        f"import {modules}\n"
        "from tastevec.common.command_line import exit_without_teardown\n"
        "exit_without_teardown(0)"
    )
    return _run_python(code, [], stdout, f"import {modules}")


def _run_python(code: str, args: list[str], stdout: Path, what: str) -> ClientRun:
    command = [sys.executable, "-c", _PEAK_WRAPPER, str(stdout), sys.executable, "-c", code]
    started = time.perf_counter()
    result = subprocess.run([*command, *args], capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()[-300:]
        raise TastevecError(f"{what} failed: {said}")
    return ClientRun(seconds, int(result.stdout.decode().split()[-1]) * 1024, stdout)
