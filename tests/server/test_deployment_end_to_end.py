"""A deployment end to end, every part a real process on 127.0.0.1 with certificates and keys
made by the project's own commands (`tastevec-server tls`, `writer-token`, `node-key`):

- the release service (`tastevec-server serve`, TLS, a writer token) over a release store;
- a Flower SuperLink with TLS, SuperNode authentication and its SQLite state file;
- five SuperNodes, each a device with its own home, ratings, consent and node key. Devices 0,
  1, 3 and 4 pull the release over gRPC and fit before the round (`tastevec-client pull
  --server`, `rate`, `fit`); device 2 has only rated, so its ClientApp pulls the release from
  the service during the round. Devices 0-3 share; device 4 does not; device 3 is SIGKILLed
  (with its whole process group) when it is asked for its masked vector;
- one round through `flwr run`: the prior forms from the 3 survivors (above SecAgg+'s
  threshold), the ServerApp publishes it to the release service, each survivor pulls it as a
  delta (the prior's blob alone) and refits with it;
- a SuperNode whose key is not registered is refused; the SuperLink SIGKILLed and restarted
  on its database still knows the registered nodes and the finished run.

Every process is stopped by its pid (its process group), also when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.client.release_cache import current_release_id
from tastevec.client.release_download import PullOptions, pull_from_server
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_prior
from tastevec.common.signing import load_public_key
from tastevec.server.cli import main as server_main
from tastevec.server.flower_server import ROUNDS_LOG
from tastevec.simulations.tools.owned_processes import (
    OwnedProcesses,
    release_service_address,
    start_release_service,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups, /proc"),
]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEVICES = 5
SHARING = (0, 1, 2, 3)
NEW_DEVICE = 2  # rated only: its ClientApp pulls the release during the round
VICTIM = 3  # killed when asked for its masked vector
SURVIVORS = (0, 1, 2)
# the round's wait for one message's replies: the victim's never come; the SuperLink notices
# its missing heartbeats after 30-60 s, so this bounds the round's wait for it
ROUND_TIMEOUT = 40.0
# SecAgg+'s train messages to a device: setup, key sharing, then the masked vector (the
# SuperNode logs each as it receives it)
MASKED_VECTOR_MESSAGE = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(what: str, check, seconds: float, log: Path | None = None):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what}: not within {seconds:.0f} s\n{tail}")


@dataclass
class Deployment:
    folder: Path
    env: dict[str, str]
    owned: OwnedProcesses
    tls: Path
    token: Path
    trust: Path
    release_key: Path
    releases: Path
    start: str
    release_address: str
    superlink_args: list[str]
    superlink_port: int
    homes: list[Path]
    node_homes: list[Path]  # each SuperNode's FLWR_HOME (the apps it installs)
    stranger_log: Path | None = None  # the SuperNode whose key is not registered

    def flwr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "flwr"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def flwr_json(self, *args: str) -> dict:  # type: ignore[type-arg]
        done = self.flwr(*args, "deploy", "--format", "json")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def nodes(self) -> dict[str, str]:
        """node id -> status, as the SuperLink lists them."""
        return {n["node-id"]: n["status"] for n in self.flwr_json("supernode", "list")["nodes"]}

    def start_superlink(self) -> None:
        log = self.folder / "superlink.log"
        self.owned.start("superlink", self.superlink_args, env=self.env, log=log)
        wait_until("the SuperLink listens", self._superlink_listens, 60, log)

    def _superlink_listens(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.superlink_port), timeout=1):
                return True
        except OSError:
            return False

    def start_supernode(self, name: str, key: Path, node_config: str, flwr_home: Path) -> Path:
        log = self.folder / f"{name}.log"
        args = [
            str(BIN / "flower-supernode"),
            "--superlink",
            f"127.0.0.1:{self.superlink_port}",
            "--root-certificates",
            str(self.tls / "ca.pem"),
            "--auth-supernode-private-key",
            str(key),
            "--port",
            str(free_port()),
            "--node-config",
            node_config,
        ]
        flwr_home.mkdir(parents=True, exist_ok=True)
        self.owned.start(name, args, env={**self.env, "FLWR_HOME": str(flwr_home)}, log=log)
        return log


@pytest.fixture(scope="module")
def deployment(
    release: Path, release_key: Path, trust: Path, ratings_csv, tmp_path_factory
) -> Iterator[Deployment]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("deployment")
    # the operator's secrets, each made by its command
    tls, token = folder / "tls", folder / "writer-token"
    assert server_main(["tls", "--out", str(tls)]) == 0
    assert server_main(["writer-token", "--out", str(token)]) == 0
    keys = folder / "node-keys"
    keys.mkdir()
    for index in range(DEVICES):
        assert server_main(["node-key", "--out", str(keys / f"device-{index}")]) == 0
    assert server_main(["node-key", "--out", str(keys / "stranger")]) == 0
    # the operator's releases folder (the ServerApp publishes beside it) and the store
    start = verify_release(release, load_public_key(trust)).release_id
    releases = folder / "releases"
    shutil.copytree(release, releases / start, copy_function=os.link)  # blobs are read-only
    store = folder / "store"
    assert server_main(["publish", str(release), "--store", str(store), "--trust", str(trust)]) == 0

    flwr_home = folder / "operator-flwr"
    flwr_home.mkdir()
    superlink_port = free_port()
    (flwr_home / "config.toml").write_text(
        '[superlink]\ndefault = "deploy"\n\n[superlink.deploy]\n'
        f'address = "127.0.0.1:{superlink_port}"\nroot-certificates = "{tls / "ca.pem"}"\n'
    )
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # flwr starts its helpers
        "FLWR_HOME": str(flwr_home),
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    superlink_args = [
        str(BIN / "flower-superlink"),
        "--ssl-ca-certfile",
        str(tls / "ca.pem"),
        "--ssl-certfile",
        str(tls / "server.pem"),
        "--ssl-keyfile",
        str(tls / "server.key"),
        "--enable-supernode-auth",
        "--database",
        str(folder / "superlink-state.db"),
        "--host",
        "127.0.0.1",
        "--port",
        str(superlink_port),
        "--disable-runtime-dependency-installation",
    ]
    owned = OwnedProcesses("TASTEVEC_TEST_DEPLOYMENT", str(folder))
    with owned:
        service_log = folder / "release-service.log"
        start_release_service(
            owned,
            store,
            tls_cert=tls / "server.pem",
            tls_key=tls / "server.key",
            token=token,
            env=env,
            log=service_log,
        )
        deployment = Deployment(
            folder=folder,
            env=env,
            owned=owned,
            tls=tls,
            token=token,
            trust=trust,
            release_key=release_key,
            releases=releases,
            start=start,
            release_address="",
            superlink_args=superlink_args,
            superlink_port=superlink_port,
            homes=[folder / f"device-{i}" / "home" for i in range(DEVICES)],
            node_homes=[folder / f"device-{i}" / "flwr" for i in range(DEVICES)],
        )
        deployment.start_superlink()
        registering = [
            subprocess.Popen(
                [str(BIN / "flwr"), "supernode", "register", str(keys / f"device-{i}.pub")],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(DEVICES)
        ]
        for process in registering:
            output, _ = process.communicate(timeout=60)
            assert process.returncode == 0, output
        deployment.release_address = release_service_address(service_log, 60)

        # the devices: ratings of the world's test people, consent, the release over gRPC
        for index, home in enumerate(deployment.homes):
            args = ["--home", str(home)]
            ratings = ratings_csv(index, folder / f"ratings-{index}.csv")
            assert client_main(["rate", *args, "--csv", str(ratings), "--scale", "1-5"]) == 0
            if index in SHARING:
                assert client_main(["share", "on", *args]) == 0
            if index == NEW_DEVICE:
                continue
            pull = ["pull", *args, "--server", deployment.release_address, "--no-progress"]
            pull += ["--tls-ca", str(tls / "ca.pem"), "--trust", str(trust)]
            assert client_main(pull) == 0
            assert client_main(["fit", *args]) == 0
        for index, home in enumerate(deployment.homes):
            node_config = (
                f"home='{home}' release-server='{deployment.release_address}' "
                f"release-tls-ca='{tls / 'ca.pem'}' trust='{trust}'"
            )
            deployment.start_supernode(
                f"supernode-{index}",
                keys / f"device-{index}",
                node_config,
                deployment.node_homes[index],
            )
        deployment.stranger_log = deployment.start_supernode(
            "supernode-stranger", keys / "stranger", "home='/nonexistent'", folder / "stranger"
        )
        wait_until(
            "every registered SuperNode online",
            lambda: sorted(deployment.nodes().values()) == ["online"] * DEVICES,
            90,
        )
        yield deployment
    assert owned.left_running() == []


def test_an_unregistered_supernode_is_refused(deployment: Deployment) -> None:
    stranger = deployment.owned.running["supernode-stranger"]
    log = deployment.stranger_log
    assert log is not None
    wait_until("the stranger's SuperNode exits", lambda: stranger.poll() is not None, 60, log)
    assert stranger.returncode != 0
    assert "Failed to activate SuperNode" in log.read_text()
    assert len(deployment.nodes()) == DEVICES  # registered ones only


def test_a_round_publishes_a_prior_that_devices_pull_as_a_delta_and_refit_with(
    deployment: Deployment,
) -> None:
    config = (
        f"releases='{deployment.releases}' release-id='{deployment.start}' "
        f"key='{deployment.release_key}' min-people=3 timeout={ROUND_TIMEOUT} "
        f"publish-server='{deployment.release_address}' "
        f"publish-token-file='{deployment.token}' "
        f"publish-tls-ca='{deployment.tls / 'ca.pem'}'"
    )
    assert current_release_id(Home(deployment.homes[NEW_DEVICE])) is None
    run_log = deployment.folder / "flwr-run.log"
    run = deployment.owned.start(
        "flwr-run",
        [str(BIN / "flwr"), "run", ".", "deploy", "--stream", "--run-config", config],
        env=deployment.env,
        log=run_log,
        cwd=ROOT,
    )
    victim_log = deployment.folder / f"supernode-{VICTIM}.log"

    def victim_asked_for_its_vector() -> bool:
        received = victim_log.read_text().count("Receiving: train message")
        return received >= MASKED_VECTOR_MESSAGE or run.poll() is not None

    wait_until("the victim asked for its masked vector", victim_asked_for_its_vector, 300, run_log)
    assert run.poll() is None, run_log.read_text()[-4000:]
    deployment.owned.kill(f"supernode-{VICTIM}")
    assert run.wait(timeout=400) == 0, run_log.read_text()[-4000:]

    rounds = [
        json.loads(line) for line in (deployment.releases / ROUNDS_LOG).read_text().splitlines()
    ]
    assert [(r["round"], r["people"], r["why"]) for r in rounds] == [(1, len(SURVIVORS), None)]
    published = rounds[0]["published"]
    folder = deployment.releases / published
    manifest = verify_release(folder, load_public_key(deployment.trust))
    prior = load_release_prior(folder, manifest, "block")
    assert prior is not None and prior.people == len(SURVIVORS)
    # the mean of the survivors' own fits (their profiles), none of the others'
    fits = [
        np.array(load_profile(Home(deployment.homes[i]).profiles, deployment.start).coefficients)
        for i in SURVIVORS
    ]
    assert torch.allclose(prior.mean, torch.tensor(np.stack(fits)).mean(0).float(), atol=1e-4)
    # the new device got the release from the service during the round
    assert (Home(deployment.homes[NEW_DEVICE]).profiles / f"{deployment.start}.json").exists()

    prior_entry = manifest.prior("block")
    assert prior_entry is not None
    for index in SURVIVORS:
        home = Home.at(deployment.homes[index])
        options = PullOptions(tls_ca=deployment.tls / "ca.pem")
        pulled = pull_from_server(home, deployment.release_address, options)  # the current
        assert current_release_id(home) == published
        assert (pulled.result.blobs_fetched, pulled.bytes_fetched) == (1, prior_entry.blob.size)
        assert client_main(["fit", "--home", str(home.root)]) == 0
        profile = load_profile(home.profiles, published)
        assert profile.summary["prior_people"] == len(SURVIVORS)


def test_the_superlink_killed_and_restarted_keeps_its_state(deployment: Deployment) -> None:
    nodes = deployment.nodes()
    runs = {r["run-id"]: r["status"] for r in deployment.flwr_json("ls")["runs"]}
    deployment.owned.kill("superlink")
    deployment.start_superlink()
    assert sorted(deployment.nodes()) == sorted(nodes)
    assert {r["run-id"]: r["status"] for r in deployment.flwr_json("ls")["runs"]} == runs
