"""The page, really started: `tastevec-client ui` in its own process on 127.0.0.1, over a
home with the small world's release and a folder of its photos. Each test owns the server it
starts and stops it by PID. `serve_in_process` serves the same app from this process
(uvicorn on 127.0.0.1, port 0, in a thread), for tests that drive its background work step
by step."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.ui.access import COOKIE, Access, new_secret
from tastevec.client.ui.app import create_app
from tastevec.client.ui.background import Background
from tastevec.client.ui.photo_library import PhotoLibrary
from tastevec.client.ui.server import bind
from tastevec.simulations.tools.owned_processes import stop_process

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


def start_page(home: Path, photos: Path, *options: str) -> Page:
    """Start the page's server (with `options` of `tastevec-client ui`); its output goes to
    HOME/../page.log (shown when a test fails)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log = home.parent / "page.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [CLIENT, "ui", "--home", str(home), "--photos", str(photos), "--no-browser", *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", log.read_text())
        if found:
            return Page(process, found.group(0), home, photos)
        time.sleep(0.1)
    stop_page(process)
    raise AssertionError(f"the page did not start: {log.read_text()}")


def stop_page(process: subprocess.Popen[str]) -> None:
    stop_process(process, grace=30)


@pytest.fixture
def page(page_home: Path, photo_folder: Path) -> Iterator[Page]:
    started = start_page(page_home, photo_folder)
    try:
        yield started
    finally:
        stop_page(started.process)
        print((page_home.parent / "page.log").read_text())  # shown when the test fails


def chromium_path() -> str | None:
    """Debian's chromium (installed by `make browser`), or where TASTEVEC_CHROMIUM says."""
    return os.environ.get("TASTEVEC_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright. Without one the browser tests skip, except
    under CI=true, where they fail: CI runs `make test`, which installs it."""
    path = chromium_path()
    if path is None:
        message = "no chromium on PATH (make browser installs Debian's)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # the sandbox refuses root
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=args, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class InProcess:
    http: httpx.Client  # with the page's cookie
    origin: dict[str, str]  # the headers a same-origin change carries


@contextmanager
def serve_in_process(
    home: Home, library: PhotoLibrary, work: Background, *, scoring: bool = True
) -> Iterator[InProcess]:
    """The page's app over `work`, served from this process; `scoring`: start its
    background threads (else the test scores with `work.score_step()`)."""
    sock = bind(0)
    port = sock.getsockname()[1]
    access = Access(new_secret(), port)
    app = create_app(home, access, library, work)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="test-page")
    if scoring:
        work.start()
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=base, cookies={COOKIE: access.secret}, timeout=60) as http:
            yield InProcess(http, {"Origin": base, "Sec-Fetch-Site": "same-origin"})
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        if scoring:
            work.stop()
        sock.close()
