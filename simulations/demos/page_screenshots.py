"""`tastevec-sim screenshots`: PNGs of the person's page in its three main views (rate,
ranking, status), taken in headless Chromium from a real `tastevec-client ui`.

The photos and their ratings are a simulated person's: one album of the photo world's
REAL-CUR-like database, whose folder names are that person's scores (1-5). The page chooses
which photo to show; the person's score of it is typed with the keyboard, as a person would.
Without a world and a release it builds the small world and forges a brief release first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.cli import main as client_main
from tastevec.common.errors import TastevecError
from tastevec.simulations.tools.owned_processes import stop_process

VIEWS = ("rate", "ranking", "status")
WAIT_MS = 300_000
RATINGS = 12
_CLIENT = str(Path(sys.executable).with_name("tastevec-client"))


@dataclass(frozen=True, slots=True)
class Inputs:
    world: Path
    release: Path
    trust: Path


def small_inputs(scratch: Path) -> Inputs:
    """The small photo world and a brief release forged on it (reused when present)."""
    from tastevec.server.cli import main as server_main
    from tastevec.simulations.cli import main as sim_main

    world, key, release = scratch / "world", scratch / "release-key", scratch / "release"
    if not (world / "world.json").exists():
        assert sim_main(["world", "--out", str(world), "--size", "small"]) == 0
    if not key.exists():
        assert server_main(["keygen", "--out", str(key)]) == 0
    if not (release / "manifest.json").exists():
        config = scratch / "forge.toml"
        config.write_text(
            f'world = "{world}"\n[training]\nsteps = 12\nbatch_size = 8\nimage_size = 64\n'
        )
        args = ["forge", "--config", str(config), "--out", str(release), "--key", str(key)]
        assert server_main([*args, "--no-progress"]) == 0
    return Inputs(world, release, key.with_name(key.name + ".pub"))


def person_album(world: Path, folder: Path) -> dict[str, int]:
    """Copy one simulated person's album into `folder`; their score of each photo, by name."""
    albums = sorted((world / "databases" / "real_cur" / "images").iterdir())
    if not albums:
        raise TastevecError(f"{world} has no REAL-CUR albums")
    folder.mkdir(parents=True, exist_ok=True)
    scores = {}
    for image in sorted(albums[0].glob("*/*")):
        shutil.copy(image, folder / image.name)
        scores[image.name] = int(image.parent.name)
    return scores


def take_screenshots(inputs: Inputs, scratch: Path, out: Path) -> list[Path]:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        raise TastevecError("screenshots need playwright (pip install -e '.[dev]')") from None
    chromium = os.environ.get("TASTEVEC_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise TastevecError("screenshots need chromium (make browser, or apt-get install chromium)")
    home = scratch / "home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(scratch / "photos", ignore_errors=True)
    pull = ["pull", "--home", str(home), "--from-dir", str(inputs.release)]
    assert client_main([*pull, "--trust", str(inputs.trust)]) == 0
    scores = person_album(inputs.world, scratch / "photos")
    log = scratch / "page.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                _CLIENT,
                "ui",
                "--home",
                str(home),
                "--photos",
                str(scratch / "photos"),
                "--no-browser",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    written = []
    try:
        url = _wait_for_url(log, process)
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=args)
            tab = browser.new_page(viewport={"width": 1280, "height": 860})
            tab.goto(url)
            photo = tab.locator("#photo")
            for done in range(RATINGS):
                expect(photo).to_have_attribute("data-id", re.compile(".+"), timeout=WAIT_MS)
                ident = photo.get_attribute("data-id") or ""
                tab.keyboard.press(str(scores[photo.get_attribute("data-name") or ""]))
                expect(tab.locator("body")).to_have_attribute(
                    "data-ratings", str(done + 1), timeout=WAIT_MS
                )
                expect(photo).not_to_have_attribute("data-id", ident, timeout=WAIT_MS)
            expect(photo).to_have_attribute("data-how", "chosen", timeout=WAIT_MS)
            tab.wait_for_timeout(500)  # the image itself
            written.append(_shot(tab, out, "rate"))
            tab.click("#fit")
            expect(tab.locator("#fit-state")).to_have_attribute(
                "data-state", "done", timeout=WAIT_MS
            )
            tab.click("#nav-ranking")
            gallery = tab.locator("#gallery")
            expect(gallery).to_have_attribute("data-complete", "yes", timeout=WAIT_MS)
            tab.wait_for_timeout(1500)  # thumbnails
            written.append(_shot(tab, out, "ranking", full=True))
            tab.click("#nav-status")
            expect(tab.locator("#status-fit")).to_have_attribute("data-fitted", "yes")
            written.append(_shot(tab, out, "status"))
            browser.close()
    finally:
        stop_process(process, grace=30)
    return written


def _wait_for_url(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", log.read_text())
        if found:
            return found.group(0)
        time.sleep(0.2)
    raise TastevecError(f"the page did not start: {log.read_text()[-2000:]}")


def _shot(tab: object, out: Path, view: str, *, full: bool = False) -> Path:
    path = out / f"page-{view}.png"
    tab.screenshot(path=str(path), full_page=full)  # type: ignore[attr-defined]
    print(f"wrote {path}")
    return path
