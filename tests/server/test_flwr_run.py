"""`flwr run .` against a local simulation, offline, as an operator runs it: the apps declared
in pyproject's [tool.flwr.app], a real SuperLink process (stopped here by its pid), three
virtual SuperNodes with their own homes; one round publishes a prior from the 3 sharers."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tastevec.common.release import verify_release
from tastevec.common.signing import load_public_key
from tastevec.server.flower_server import ROUNDS_LOG
from tastevec.simulations.tools.owned_processes import processes_with, stop_pids

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds its processes in /proc")
def test_flwr_run_publishes_a_prior_on_a_local_simulation(
    federation,
    release_key: Path,
    trust: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    releases, homes, start = federation
    flwr_home = tmp_path / "flwr-home"
    flwr_home.mkdir()
    (flwr_home / "config.toml").write_text(
        '[superlink]\ndefault = "local"\n\n[superlink.local]\naddress = ":local:"\n'
        "options.num-supernodes = 4\n"
    )
    env = {
        **os.environ,
        "FLWR_HOME": str(flwr_home),
        # flwr starts `flower-superlink` (and its simulation) from the PATH: this venv's
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "FLWR_LOCAL_SUPERLINK_HTTP_API_PORT": str(free_port()),
        "FLWR_LOCAL_CONTROL_API_PORT": str(free_port()),
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    config = (
        f"releases='{releases}' release-id='{start}' key='{release_key}' homes='{homes}' "
        f"trust='{trust}' min-people=3"
    )
    flwr = Path(sys.executable).with_name("flwr")
    try:
        done = subprocess.run(
            [str(flwr), "run", ".", "local", "--stream", "--run-config", config],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
    finally:
        stop_pids(processes_with("FLWR_HOME", str(flwr_home)))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rounds = [json.loads(line) for line in (releases / ROUNDS_LOG).read_text().splitlines()]
    assert [(r["round"], r["people"], r["why"]) for r in rounds] == [(1, 3, None)]
    manifest = verify_release(releases / rounds[0]["published"], load_public_key(trust))
    prior = manifest.prior("block")
    assert prior is not None and prior.people == 3
    assert processes_with("FLWR_HOME", str(flwr_home)) == []
