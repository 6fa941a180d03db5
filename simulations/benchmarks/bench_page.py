"""`tastevec-sim bench page`: the person's page on a large folder, through the real server.

A folder of 10,000 photos (resized, cropped and re-toned copies of the real photos bundled
with scikit-image, scikit-learn and matplotlib, each one different) and its first 1,000,
each served by a real `tastevec-client ui` process over a fresh home. For each: the time to
list the folder (adding it on the page), to the first streamed score, to the first next
photo chosen by the models, to the whole ranking (the person's model on every photo) and to
all own scores (the task vectors' own models on every photo: all scoring done), the API's
answer times while scoring runs, thumbnails made the first time against read from the
cache, the ranking view's load in headless Chromium, and the server's peak resident memory.
The photos are deleted afterwards.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageEnhance

from tastevec.client.home import Home
from tastevec.client.release_cache import pull_from_dir
from tastevec.client.ui.access import COOKIE
from tastevec.client.ui.background import OWN_SAMPLE
from tastevec.client.ui.ranking_page import RANKING_PAGE
from tastevec.common.errors import TastevecError
from tastevec.simulations.tools.machine import describe_machine, machine_table
from tastevec.simulations.tools.owned_processes import stop_process
from tastevec.simulations.world.bundled_photos import BUNDLED_PHOTOS, bundled_photo

COUNTS = (1_000, 10_000)
SIDE = (384, 288)  # each photo's size: larger than the page's 320 px thumbnails
THUMBS = 100  # thumbnails fetched first time, then again
WAIT_S = 3600.0
_CLIENT = str(Path(sys.executable).with_name("tastevec-client"))


def make_photos(folder: Path, count: int, seed: int = 0) -> None:
    """`count` different JPEGs from the bundled photos: a random crop, resized, re-toned."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for name in BUNDLED_PHOTOS:
        image = bundled_photo(name)
        image.thumbnail((720, 720))
        sources.append(image)
    rng = random.Random(seed)
    for index in range(count):
        source = sources[index % len(sources)]
        w, h = source.size
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        photo = source.crop((x, y, x + cw, y + ch)).resize(SIDE, Image.Resampling.BILINEAR)
        photo = ImageEnhance.Brightness(photo).enhance(rng.uniform(0.7, 1.3))
        photo = ImageEnhance.Color(photo).enhance(rng.uniform(0.6, 1.4))
        photo.save(folder / f"photo-{index:05d}.jpg", "JPEG", quality=80)


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise TastevecError(f"{field} missing for process {pid}")


def _timed(http: httpx.Client, path: str, repeats: int = 5) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        answer = http.get(path)
        seconds.append(time.perf_counter() - started)
        answer.raise_for_status()
    return statistics.median(seconds)


def _page_load(url: str, base: str, photos: int) -> tuple[float, float]:
    """Seconds from opening the page to the ranking view's first page shown with its visible
    thumbnails loaded, then for one "Show more"."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("TASTEVEC_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise TastevecError("bench page needs chromium (make browser)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    loaded = (
        "() => { const g = document.getElementById('gallery');"
        " const imgs = [...g.querySelectorAll('img')].slice(0, 12);"
        " return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0); }"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
            tab = context.new_page()
            tab.goto(url)  # the token becomes a cookie
            started = time.perf_counter()
            tab.goto(base + "/")
            tab.click("#nav-ranking")
            gallery = tab.locator("#gallery")
            last = min(RANKING_PAGE, photos)
            gallery.locator(f"figure[data-rank='{last}']").wait_for(timeout=120_000)
            tab.wait_for_function(loaded, timeout=120_000)
            first = time.perf_counter() - started
            more = float("nan")
            if photos > RANKING_PAGE:
                started = time.perf_counter()
                tab.click("#ranking-more")
                last = min(2 * RANKING_PAGE, photos)
                gallery.locator(f"figure[data-rank='{last}']").wait_for(timeout=120_000)
                more = time.perf_counter() - started
            context.close()
        finally:
            browser.close()
    return first, more


def _measure(home: Home, folder: Path, log: Path, *options: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [_CLIENT, "ui", "--home", str(home.root), "--no-browser", *options],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    figures: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        url = None
        while url is None and time.perf_counter() - started < 300 and process.poll() is None:
            found = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", log.read_text())
            url = found.group(0) if found else None
            time.sleep(0.05)
        if url is None:
            raise TastevecError(f"the page did not start: {log.read_text()[-500:]}")
        figures["start_s"] = time.perf_counter() - started
        base = url.split("/?")[0]
        secret = url.split("token=")[1]
        origin = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
        figures["idle_rss_mib"] = _status_kib(process.pid, "VmRSS") / 1024
        with httpx.Client(base_url=base, cookies={COOKIE: secret}, timeout=120) as http:
            started = time.perf_counter()
            added = http.post("/api/folders", json={"path": str(folder)}, headers=origin)
            added.raise_for_status()
            figures["listing_s"] = time.perf_counter() - started
            figures["photos"] = added.json()["photos"]
            begun = time.perf_counter()
            first = chosen = whole = None
            during: dict[str, list[float]] = {"status": [], "ranking": [], "next": []}
            while time.perf_counter() - begun < WAIT_S:
                t = time.perf_counter()
                ranking = http.get("/api/ranking?limit=1").json()
                during["ranking"].append(time.perf_counter() - t)
                now = time.perf_counter() - begun
                if first is None and ranking["ranked"] > 0:
                    first = now
                t = time.perf_counter()
                status = http.get("/api/status").json()
                during["status"].append(time.perf_counter() - t)
                sample = min(OWN_SAMPLE, status["total"])
                if "sample_s" not in figures and sample and status["own_scored"] >= sample:
                    figures["sample_s"], figures["scored_at_sample"] = now, status["scored"]
                if whole is None and ranking["total"] and ranking["scored"] == ranking["total"]:
                    whole = now
                    figures["own_at_ranking"] = status["own_scored"]
                t = time.perf_counter()
                suggestion = http.get("/api/next").json()
                during["next"].append(time.perf_counter() - t)
                if chosen is None and suggestion["how"] == "chosen":
                    chosen = time.perf_counter() - begun
                if status["total"] and status["own_scored"] == status["total"] and whole:
                    break
                time.sleep(0.5)
            else:
                raise TastevecError(f"scoring was not complete after {WAIT_S:.0f} s")
            figures["first_score_s"] = first
            figures["first_chosen_s"] = chosen
            figures["ranking_s"] = whole
            figures["own_s"] = time.perf_counter() - begun
            figures["during"] = {k: (statistics.median(v), max(v)) for k, v in during.items() if v}
            figures["after"] = {
                "ranking page": _timed(http, "/api/ranking"),
                "status": _timed(http, "/api/status"),
                "next": _timed(http, "/api/next"),
            }
            figures["page_load_s"], figures["show_more_s"] = _page_load(
                url, base, figures["photos"]
            )
            offset = min(3 * RANKING_PAGE, figures["photos"] // 2)  # not shown: no thumbnail yet
            items = http.get(f"/api/ranking?offset={offset}&limit={THUMBS}").json()["items"]
            for label in ("thumb_first_s", "thumb_cached_s"):
                started = time.perf_counter()
                for item in items:
                    http.get(f"/api/photos/{item['id']}/thumb").raise_for_status()
                figures[label] = (time.perf_counter() - started) / len(items)
        figures["peak_rss_mib"] = _status_kib(process.pid, "VmHWM") / 1024
    finally:
        stop_process(process, grace=60)
    return figures


def run_page_benchmark(
    release: Path, trust: Path, scratch: Path, *, counts: tuple[int, ...] = COUNTS
) -> str:
    photos = scratch / "photos"
    results: dict[int, dict[str, Any]] = {}
    try:
        started = time.perf_counter()
        make_photos(photos / str(max(counts)), max(counts))
        made = time.perf_counter() - started
        for count in counts:
            folder = photos / str(count)
            if count != max(counts):
                folder.mkdir(parents=True, exist_ok=True)
                for index in range(count):
                    name = f"photo-{index:05d}.jpg"
                    os.link(photos / str(max(counts)) / name, folder / name)
            runs: list[tuple[int, tuple[str, ...]]] = [(count, ())]
            if count == max(counts):  # side by side: every model on every photo first
                runs.append((-count, ("--own-sample", str(count))))
            for key, options in runs:
                home = Home(scratch / f"home-{key}")
                shutil.rmtree(home.root, ignore_errors=True)
                pull_from_dir(home, release, trust)
                load_before = os.getloadavg()[0]
                results[key] = _measure(home, folder, scratch / f"page-{key}.log", *options)
                results[key]["load"] = (load_before, os.getloadavg()[0])
                shutil.rmtree(home.root, ignore_errors=True)
                print(f"bench page: {count} photos measured {' '.join(options)}", flush=True)
        folder_mib = sum(p.stat().st_size for p in (photos / str(max(counts))).iterdir()) / 2**20
    finally:
        shutil.rmtree(photos, ignore_errors=True)
        for count in (*counts, -max(counts)):
            shutil.rmtree(scratch / f"home-{count}", ignore_errors=True)
    return _report(results, counts, made, folder_mib, os.nice(0))


def _report(
    results: dict[int, dict[str, Any]],
    counts: tuple[int, ...],
    made: float,
    folder_mib: float,
    niceness: int,
) -> str:
    small, large = counts[0], counts[-1]
    a, b = results[small], results[large]
    c = results[-large]  # the large folder again, every model on every photo first
    loads = "; ".join(
        f"{abs(k):,} photos{' (every model first)' if k < 0 else ''}: "
        f"{results[k]['load'][0]:.1f} before, {results[k]['load'][1]:.1f} after"
        for k in (*counts, -large)
    )
    nan = float("nan")
    for r in results.values():  # each pass's photos over its time (polled every ~0.5 s)
        ranked, owned = r["photos"] - r["scored_at_sample"], r["photos"] - r["own_at_ranking"]
        r["ranking_rate"] = ranked / (r["ranking_s"] - r["sample_s"]) if ranked else nan
        r["own_rate"] = owned / (r["own_s"] - r["ranking_s"]) if owned else nan
    side_by_side = [
        "",
        f"The {large:,} photos again, side by side in the same run: the page in passes (the "
        f"default) against every model on every photo first (`--own-sample {large}`: the "
        "order before the passes, each photo read once, 7 forward passes).",
        "",
        f"| {large:,} photos | in passes | every model first | every model first / in passes |",
        "|---|---|---|---|",
    ]
    for label, key in (
        ("first streamed score, s after adding", "first_score_s"),
        ("first next-photo chosen by the models, s after adding", "first_chosen_s"),
        ("whole ranking scored, s after adding", "ranking_s"),
        ("all scoring done (own scores on every photo), s after adding", "own_s"),
        ("server peak resident memory, MiB", "peak_rss_mib"),
    ):
        side_by_side.append(f"| {label} | {b[key]:.1f} | {c[key]:.1f} | {c[key] / b[key]:.2f}x |")
    side_by_side.append(
        "| status / ranking / next while scoring, median ms | "
        + " / ".join(f"{1000 * b['during'][n][0]:.0f}" for n in ("status", "ranking", "next"))
        + " | "
        + " / ".join(f"{1000 * c['during'][n][0]:.0f}" for n in ("status", "ranking", "next"))
        + " | |"
    )

    def row(label: str, key: str, fmt: str = "{:.2f}") -> str:
        return f"| {label} | " + " | ".join(fmt.format(results[c][key]) for c in counts) + " |"

    lines = [
        "# Page benchmark: a large folder through the real `tastevec-client ui`",
        "",
        f"Folders of {small:,} and {large:,} different photos ({SIDE[0]}x{SIDE[1]} JPEG copies "
        f"of the bundled real photos, each a random crop, re-toned; {folder_mib:.0f} MiB for "
        f"{large:,}, made in {made:.0f} s and deleted after the run), each added on the page "
        "of a fresh `tastevec-client ui` process over a fresh home (the small photo world's "
        "release, 64 px, 6 task vectors). The page scores in passes (client/ui/background.py): "
        f"own scores (each task vector's own model, 6 forward passes) for a first sample of "
        f"{OWN_SAMPLE} photos, so the next-photo choice works at once; then the person's model "
        "alone on every photo, until the ranking is whole; then the own models on the rest. "
        "Measured from the outside over HTTP and in headless Chromium; the server's peak "
        "resident memory from /proc (VmHWM).",
        "",
        f"The machine: {os.cpu_count()} CPU cores shared with other work during the run (its "
        f"1-minute load average: {loads}; this run at niceness {niceness}), so times move "
        "by tens of percent between runs; the runs went one after the other in one run.",
        "",
        *machine_table(describe_machine()),
        "",
        f"| | {small:,} photos | {large:,} photos |",
        "|---|---|---|",
        row("server start to its address printed, s", "start_s"),
        row("listing the folder (adding it on the page), s", "listing_s"),
        row("first streamed score, s after adding", "first_score_s"),
        row("first next-photo chosen by the models, s after adding", "first_chosen_s"),
        row(f"own sample ({OWN_SAMPLE} photos, every model) scored, s after adding", "sample_s"),
        row("whole ranking scored (the person's model on every photo), s", "ranking_s", "{:.0f}"),
        row("photos with own scores when the ranking was whole", "own_at_ranking", "{:,}"),
        row("own scores on every photo (all scoring done), s after adding", "own_s", "{:.0f}"),
        row(
            "ranking pass after the sample, photos/s (person's model, reading)",
            "ranking_rate",
            "{:.1f}",
        ),
        row("own pass after the ranking, photos/s (6 own models, reading)", "own_rate", "{:.1f}"),
        row("ranking view loaded in Chromium (first page, thumbnails shown), s", "page_load_s"),
        row("one more page (Show more), s", "show_more_s"),
        row("a thumbnail, first time, s", "thumb_first_s", "{:.4f}"),
        row("a thumbnail, from the cache, s", "thumb_cached_s", "{:.4f}"),
        row("server resident memory, idle before the folder, MiB", "idle_rss_mib", "{:.0f}"),
        row("server peak resident memory, MiB", "peak_rss_mib", "{:.0f}"),
        "",
    ]
    lines += ["| API answer, median (max), ms | " + " | ".join(f"{n:,}" for n in counts) + " |"]
    lines += ["|---|---|---|"]
    for name in ("status", "ranking", "next"):
        cells = []
        for n in counts:
            median, top = results[n]["during"].get(name, (nan, nan))
            cells.append(f"{1000 * median:.0f} ({1000 * top:.0f})")
        lines.append(f"| {name}, while scoring runs | " + " | ".join(cells) + " |")
    for name in ("ranking page", "status", "next"):
        cells = [f"{1000 * results[n]['after'][name]:.0f}" for n in counts]
        lines.append(f"| {name}, after | " + " | ".join(cells) + " |")
    lines += side_by_side
    pixels = large * 3 * 64 * 64 * 4 / 2**20
    ratio = b["thumb_first_s"] / b["thumb_cached_s"]
    lines += [
        "",
        "## What it shows",
        "",
        f"- Thumbnails: made once, then read from the cache {ratio:.1f}x faster "
        f"({1000 * b['thumb_first_s']:.1f} ms against {1000 * b['thumb_cached_s']:.1f} ms a "
        f"photo at {large:,}; a cached one still reads the photo to find its content key).",
        f"- Memory: the server's peak was {b['peak_rss_mib']:.0f} MiB at {large:,} photos "
        f"against {a['peak_rss_mib']:.0f} MiB at {small:,} "
        f"({b['peak_rss_mib'] / a['peak_rss_mib']:.2f}x); the {large:,} photos' "
        f"pixels at the model's 64 px alone would take {pixels:.0f} MiB (at 224 px "
        f"{pixels * 12.25:.0f} MiB), and the photos themselves {folder_mib:.0f} MiB: only "
        "digests and a few scores per photo are kept.",
        f"- Scoring streams: the first score came {b['first_score_s']:.1f} s after adding "
        f"{large:,} photos and the first next photo chosen by the models "
        f"{b['first_chosen_s']:.1f} s after; the whole ranking took {b['ranking_s']:.0f} s "
        f"({b['ranking_rate']:.0f} photos/s after the sample, the person's model alone), all "
        f"own scores {b['own_s']:.0f} s ({b['own_rate']:.1f} photos/s, 6 models). With every "
        f"model on every photo first (the order before the passes), the same folder's ranking "
        f"was whole at {c['ranking_s']:.0f} s ({large / c['ranking_s']:.0f} photos/s, 7 models "
        f"each): every model first / in passes = {c['ranking_s'] / b['ranking_s']:.2f}x for the "
        f"whole ranking (above 1: the passes are sooner) and {c['own_s'] / b['own_s']:.2f}x for "
        "all scoring (in passes each photo is read twice). The page answered throughout; the "
        "load on the machine moved between the runs (above), which moves these ratios too.",
        "",
    ]
    return "\n".join(lines)
