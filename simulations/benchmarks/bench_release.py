"""`tastevec-sim bench release`: the release service on loopback, measured side by side.

One run, one machine: a synthetic signed release of random bytes (default 200 MB) is
published into a store and served by a real `tastevec-server serve` process. Measured:

- pull throughput (`pull_from_server`, end to end: signature, every blob hashed as it
  arrives, installed into a fresh cache) as a ratio to a plain TCP socket copy of the same
  bytes into files (`socket.sendfile` from another process; no checks at all);
- bytes re-sent after the server is killed (SIGKILL) at 50 % of a pull and restarted;
- N concurrent clients: aggregate throughput, and the server process's peak resident memory
  (VmHWM) against the release's size;
- delta pulls: a release that adds one task vector, and one that adds a new prior, pulled by
  a device holding the first: bytes moved vs the full release.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.home import Home
from tastevec.client.release_download import Progress, PullOptions, pull_from_server
from tastevec.common.release import blob_path
from tastevec.common.release_protocol import CHUNK_BYTES
from tastevec.common.signing import load_private_key
from tastevec.proto.release_channel import RetryPolicy
from tastevec.server.keys import generate_key_pair
from tastevec.server.release_store import ReleaseStore
from tastevec.simulations.benchmarks.bare_grpc_stream import receive as bare_receive
from tastevec.simulations.benchmarks.synthetic_release import (
    add_prior,
    add_task_vector,
    build_release,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table

BARE_MODULE = "tastevec.simulations.benchmarks.bare_grpc_stream"
PATIENT = RetryPolicy(attempts=40, first_backoff=0.2, max_backoff=1.0, deadline=60)


@dataclass(frozen=True, slots=True)
class ReleaseBenchSettings:
    release_mb: int = 200
    task_vectors: int = 4
    clients: int = 20
    repeats: int = 5
    flower: bool = True  # also send the bytes through Flower's transport (about a minute)


class ServerProcess:
    """A real `tastevec-server serve` in its own process, on a fixed or free port (or, with
    `command`, any server that prints "serving HOST:PORT" first)."""

    def __init__(self, store: Path | None, port: int = 0, command: list[str] | None = None) -> None:
        if command is None:
            command = [sys.executable, "-m", "tastevec.server", "serve", "--store", str(store)]
            command += ["--port", str(port), "--grace", "1"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("serving "):
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}")
        self.port = int(line.split(":")[-1].split()[0])

    def status_bytes(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        return 0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def run_release_benchmark(scratch: Path, settings: ReleaseBenchSettings) -> str:
    scratch = scratch.resolve()  # Flower's app runs in a folder of its own: absolute paths
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    private, public = generate_key_pair(scratch / "key")
    key = load_private_key(private)
    total = settings.release_mb * 10**6
    vector_bytes = total // (2 * settings.task_vectors)
    sizes = {f"db{i}": vector_bytes for i in range(settings.task_vectors)}
    base = build_release(
        scratch / "r1",
        key,
        backbone_bytes=total - sum(sizes.values()) - 4096,
        task_vector_bytes=sizes,
    )
    release_bytes = sum(r.size for r in base.blobs())
    load_before = os.getloadavg()[0]
    store = ReleaseStore.open(scratch / "store", trust=public)
    store.publish_from_dir(scratch / "r1")
    server = ServerProcess(store.root)
    target = f"127.0.0.1:{server.port}"
    options = PullOptions(trust=public, policy=PATIENT)
    lines: list[str] = []
    bare = ServerProcess(None, command=[sys.executable, "-m", BARE_MODULE, str(release_bytes)])
    try:
        idle_rss = server.status_bytes("VmRSS")
        # 1. one pull vs a plain socket copy and a bare grpcio stream, alternated
        pulls, transfers, copies, bares = [], [], [], []
        for repeat in range(settings.repeats):
            bares.append(bare_receive(bare.port, scratch / "bare"))
            home = Home(scratch / f"single{repeat}")
            start = time.perf_counter()
            single = pull_from_server(home, target, options)
            pulls.append(time.perf_counter() - start)
            transfers.append(single.transfer_seconds)
            shutil.rmtree(home.root)
            copies.append(
                _socket_copy(scratch / "r1", [r.sha256 for r in base.blobs()], scratch / "copy")
            )
        pull_s, transfer_s, copy_s, bare_s = min(pulls), min(transfers), min(copies), min(bares)
        bare.stop()
        flower_tiny, flower_full = (
            flower_transfer(scratch, release_bytes / 1e6) if settings.flower else (0.0, 0.0)
        )
        # 2. killed at 50 % and restarted
        resent, killed_at, server = _killed_pull(
            store.root, server, scratch, options, release_bytes
        )
        target = f"127.0.0.1:{server.port}"
        # 3. N clients at once
        homes = [Home(scratch / f"many{i}") for i in range(settings.clients)]
        start = time.perf_counter()
        with futures.ThreadPoolExecutor(settings.clients) as pool:
            results = list(pool.map(lambda h: pull_from_server(h, target, options), homes))
        many_s = time.perf_counter() - start
        peak_rss = server.status_bytes("VmHWM")
        identical = all(r.result.release.manifest == base for r in results)
        for home in homes[1:]:
            shutil.rmtree(home.root)
        # 4. deltas, into the home that holds r1
        device = homes[0]
        r2 = add_task_vector(
            scratch / "r1",
            base,
            scratch / "r2",
            key,
            source="new",
            size=vector_bytes,
            created="2026-12-02T00:00:00Z",
        )
        store.publish_from_dir(scratch / "r2")
        vector_delta = pull_from_server(device, target, options).bytes_fetched
        prior = os.urandom(2 * 4 * 64 * (settings.task_vectors + 1))  # mean+variance float32
        add_prior(
            scratch / "r2", r2, scratch / "r3", key, prior=prior, created="2026-12-03T00:00:00Z"
        )
        store.publish_from_dir(scratch / "r3")
        prior_delta = pull_from_server(device, target, options).bytes_fetched
    finally:
        server.stop()
        bare.stop()
    load_after = os.getloadavg()[0]
    mb = release_bytes / 1e6
    lines += [
        "# Release service benchmark",
        "",
        f"Loopback, one run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. A synthetic "
        f"signed release of {mb:.0f} MB of random bytes ({len(base.blobs())} blobs: backbone, "
        f"head, {settings.task_vectors} task vectors) served by a real `tastevec-server serve` "
        "process; clients in the benchmark's process. Command: `tastevec-sim bench release`.",
        "",
        *machine_table(describe_machine()),
        "",
        f"Load on the machine (1-minute load average, other work included): {load_before:.1f} "
        f"at the start, {load_after:.1f} at the end (on a shared machine the figures move by "
        "tens of percent between runs).",
        "",
        f"## Pull throughput vs a plain socket copy (best of {settings.repeats}, alternated)",
        "",
        "| transfer | seconds | MB/s |",
        "|---|---|---|",
        f"| `pull --server`, transfer: manifest + every blob over gRPC into the cache, "
        f"signature and each blob's sha256 checked as it arrives | {transfer_s:.2f} | "
        f"{mb / transfer_s:.0f} |",
        f"| `pull --server`, end to end: transfer, then installed (hard links, no blob read: "
        f"`install_release`) and every installed blob verified once more (`make_current`) | "
        f"{pull_s:.2f} | {mb / pull_s:.0f} |",
        f"| plain TCP socket copy into files (sendfile, fsync, no checks) | {copy_s:.2f} | "
        f"{mb / copy_s:.0f} |",
        f"| **ratio transfer / socket** | | **{copy_s / transfer_s:.2f}** (target >= 0.5) |",
        f"| **ratio end to end / socket** | | **{copy_s / pull_s:.2f}** |",
        f"| bare grpcio stream, one stream of the same bytes from memory "
        f"(`simulations/benchmarks/bare_grpc_stream.py`: no store, no disk read, no check; "
        f"sha256 and write inline, fsync): the floor of one gRPC stream in Python | {bare_s:.2f} | "
        f"{mb / bare_s:.0f} |",
        f"| ratio bare grpcio / socket: what one gRPC stream reaches here | | "
        f"{copy_s / bare_s:.2f} |",
        f"| ratio transfer / bare grpcio: the pull ({options.parallel_blobs} blobs at once, from "
        f"disk, checked) against one bare stream | | {bare_s / transfer_s:.2f} |",
        *_flower_rows(mb, transfer_s, flower_tiny, flower_full),
        "",
        "## Killed at 50 % and restarted",
        "",
        f"The server process was SIGKILLed after {killed_at / 1e6:.0f} MB of {mb:.0f} MB had "
        "arrived and a new one started on the same port; the pull retried (UNAVAILABLE) and "
        f"resumed each blob from its byte. Bytes received in all: {release_bytes + resent:,}; "
        f"**re-sent: {resent:,} bytes** (target: at most one {CHUNK_BYTES // 1024} KiB chunk).",
        "",
        f"## {settings.clients} clients at once",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time for all | {many_s:.2f} s |",
        f"| aggregate throughput | {settings.clients * mb / many_s:.0f} MB/s |",
        f"| all identical and verified | {identical} |",
        f"| server resident memory idle | {idle_rss / 2**20:.0f} MiB |",
        f"| server peak resident memory (VmHWM, whole run) | {peak_rss / 2**20:.0f} MiB |",
        f"| release size | {release_bytes / 2**20:.0f} MiB |",
        "",
        "## Delta pulls (a device holding the first release)",
        "",
        "| next release adds | bytes moved | share of the full release |",
        "|---|---|---|",
        f"| one task vector | {vector_delta:,} | {vector_delta / release_bytes:.1%} |",
        f"| a new population prior | {prior_delta:,} | {prior_delta / release_bytes:.4%} |",
        "",
        "",
    ]
    shutil.rmtree(scratch, ignore_errors=True)
    return "\n".join(lines)


def _killed_pull(
    store: Path, server: ServerProcess, scratch: Path, options: PullOptions, total: int
) -> tuple[int, int, ServerProcess]:
    """Pull, SIGKILL the server at 50 %, restart it on its port: (bytes re-sent, bytes
    received when it was killed, the new server)."""
    seen = [0]
    killed_at = [0]
    restarted: list[ServerProcess] = []
    port = server.port

    def restart() -> None:
        restarted.append(ServerProcess(store, port))

    def progress(_: int) -> Progress:
        def on_chunk(size: int) -> None:
            seen[0] += size
            if not killed_at[0] and seen[0] >= total // 2:
                killed_at[0] = seen[0]
                server.kill()
                threading.Thread(target=restart).start()

        return on_chunk

    home = Home(scratch / "killed")
    pulled = pull_from_server(home, f"127.0.0.1:{port}", options, progress=progress)
    shutil.rmtree(home.root)
    while not restarted:
        time.sleep(0.1)
    return pulled.bytes_fetched - total, killed_at[0], restarted[0]


def _socket_copy(release: Path, digests: list[str], out: Path) -> float:
    """Seconds to send every blob over a loopback TCP socket (sendfile, another process)
    and write each into a file: the plain baseline."""
    out.mkdir(parents=True, exist_ok=True)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    paths = [str(blob_path(release, d)) for d in digests]
    sender = subprocess.Popen([sys.executable, "-c", _SENDER, str(port), *paths])
    connection, _ = listener.accept()
    start = time.perf_counter()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    with connection:
        for digest, path in zip(digests, paths, strict=True):
            left = os.path.getsize(path)
            with (out / digest).open("wb") as handle:
                while left:
                    got = connection.recv_into(view[: min(len(buffer), left)])
                    if not got:
                        raise RuntimeError("socket copy ended early")
                    handle.write(view[:got])
                    left -= got
                handle.flush()
                os.fsync(handle.fileno())
    elapsed = time.perf_counter() - start
    sender.wait()
    listener.close()
    shutil.rmtree(out)
    return elapsed


_SENDER = """
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            s.sendfile(f)
"""


_FLOWER_APP = """[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "release-payload"
version = "1.0.0"
description = "tastevec bench release: one payload through Flower's transport"
license = "Apache-2.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "tastevec"

[tool.flwr.app.components]
serverapp = "tastevec.simulations.benchmarks.flower_payload:server_app"
clientapp = "tastevec.simulations.benchmarks.flower_payload:client_app"

[tool.flwr.app.config]
payload-mb = 1.0
result-file = ""
"""


def _flower_rows(mb: float, transfer_s: float, tiny: float, full: float) -> list[str]:
    if full == 0.0:
        return []
    net = max(full - tiny, 1e-9)
    return [
        f"| Flower's message transport (real SuperLink + SuperNode, `flwr run`; one "
        f"ArrayRecord ServerApp -> ClientApp, no checks), whole exchange | {full:.2f} | "
        f"{mb / full:.0f} |",
        f"| the same with a 1 kB payload (Flower starting the ClientApp, polling) | {tiny:.2f} | |",
        f"| Flower, the payload's own cost (difference) | {net:.2f} | {mb / net:.0f} |",
        f"| **ratio transfer / Flower (whole exchange)** | | **{full / transfer_s:.1f}** |",
        f"| **ratio transfer / Flower (payload's own cost)** | | **{net / transfer_s:.1f}** |",
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def flower_transfer(scratch: Path, payload_mb: float) -> tuple[float, float]:
    """Seconds for Flower's own transport (a real SuperLink and SuperNode, `flwr run`) to
    deliver a 1 kB payload (best of two, one before and one after) and one of `payload_mb`
    MB from the ServerApp to the ClientApp and get its reply: (tiny, full). Their
    difference is the payload's own cost; the rest is Flower starting the ClientApp."""
    folder = scratch / "flower"
    app, flwr_home = folder / "app", folder / "home"
    app.mkdir(parents=True)
    flwr_home.mkdir()
    (app / "pyproject.toml").write_text(_FLOWER_APP)
    link_port, node_port = _free_port(), _free_port()
    (flwr_home / "config.toml").write_text(
        f'[superlink]\ndefault = "bench"\n\n[superlink.bench]\n'
        f'address = "127.0.0.1:{link_port}"\ninsecure = true\n'
    )
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "FLWR_HOME": str(flwr_home),
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
    }
    flwr = Path(bin_dir)
    link = subprocess.Popen(
        [
            str(flwr / "flower-superlink"),
            "--insecure",
            "--host",
            "127.0.0.1",
            "--port",
            str(link_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    node = subprocess.Popen(
        [
            str(flwr / "flower-supernode"),
            "--insecure",
            "--superlink",
            f"127.0.0.1:{link_port}",
            "--port",
            str(node_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(link_port, timeout=60)
        seconds: list[float] = []
        for mb in (0.001, payload_mb, 0.001):
            result = folder / f"result-{len(seconds)}.json"
            config = f"payload-mb={mb} result-file='{result}'"
            subprocess.run(
                [str(flwr / "flwr"), "run", ".", "bench", "--stream", "--run-config", config],
                cwd=app,
                env=env,
                check=True,
                timeout=900,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            answer = json.loads(result.read_text())
            if answer["bytes"] != [int(mb * 10**6)]:
                raise RuntimeError(f"Flower delivered {answer['bytes']}, not {mb} MB")
            seconds.append(float(answer["seconds"]))
    finally:
        for process in (node, link):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return min(seconds[0], seconds[2]), seconds[1]
