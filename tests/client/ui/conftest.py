"""The page, really started: `tastevec-client ui` in its own process on 127.0.0.1, over a
home with the small world's release and a folder of its photos. Each test owns the server it
starts and stops it by PID."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tastevec.client.cli import main as client_main

CLIENT = str(Path(sys.executable).with_name("tastevec-client"))
PHOTOS = 16
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Page:
    process: subprocess.Popen[str]
    url: str  # with the token
    home: Path
    photos: Path

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def secret(self) -> str:
        return parse_qs(urlsplit(self.url).query)["token"][0]


def world_photos(world: Path, count: int) -> list[Path]:
    found = sorted((world / "databases" / "real_cur").rglob("*.jpg"))
    seen: dict[str, Path] = {}
    for path in found:
        seen.setdefault(path.name, path)
    assert len(seen) >= count, len(seen)
    return list(seen.values())[:count]


def make_photo_folder(world: Path, folder: Path) -> Path:
    folder.mkdir()
    for source in world_photos(world, PHOTOS):
        shutil.copy(source, folder / source.name)
    return folder


def make_home(release: Path, trust: Path, home: Path) -> Path:
    args = ["pull", "--home", str(home), "--from-dir", str(release), "--trust", str(trust)]
    assert client_main(args) == 0
    return home


@pytest.fixture
def photo_folder(world: Path, tmp_path: Path) -> Path:
    return make_photo_folder(world, tmp_path / "photos")


@pytest.fixture
def page_home(release: Path, trust: Path, tmp_path: Path) -> Path:
    return make_home(release, trust, tmp_path / "home")


def start_page(home: Path, photos: Path) -> Page:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [CLIENT, "ui", "--home", str(home), "--photos", str(photos), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT_S)
            seen.append(line)
            if "http://127.0.0.1:" in line:
                url = line[line.index("http://") :].strip()
                return Page(process, url, home, photos)
    except queue.Empty:
        stop_page(process)
        raise AssertionError(f"the page did not start: {''.join(seen)}") from None


def stop_page(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def page(page_home: Path, photo_folder: Path) -> Iterator[Page]:
    started = start_page(page_home, photo_folder)
    try:
        yield started
    finally:
        stop_page(started.process)
