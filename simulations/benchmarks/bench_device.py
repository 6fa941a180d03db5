"""`tastevec-sim bench device`: what a person's device pays, through the real commands' code.

- Fit time: `fit_profile` (release load, image reading, per-image values, the fit, saving the
  profile) for 10 and 100 ratings, each layout, with a cold image cache (every image run) and
  a warm one (a refit); the fast mode's targets are < 2 s and < 10 s.
- Start-up: importing the client in a fresh interpreter, which a command line pays once.
- Scoring: `tastevec-client score` on 1,000 and on 10,000 images, each in a fresh process;
  its peak resident memory should not grow with the number of images (streaming).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tastevec.client.fit_options import FitMode
from tastevec.client.fitting import fit_profile
from tastevec.client.home import Home
from tastevec.client.image_cache import delete_cache
from tastevec.client.rating_import import import_csv
from tastevec.client.rating_requirements import MIN_RATINGS
from tastevec.client.ratings_store import RatingsStore, parse_scale
from tastevec.client.release_cache import pull_from_dir
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import TastevecError
from tastevec.simulations.benchmarks.client_process import run_client
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    bench_fit_config,
    load_people,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table

RATINGS = (10, 100)
SCORE_COUNTS = (1_000, 10_000)
TARGETS = {10: 2.0, 100: 10.0}


def _target(count: int) -> str:
    return f"< {TARGETS[count]:.0f} s" if count in TARGETS else "—"


def _home_with_ratings(
    scratch: Path, release: Path, trust: Path, rows: list[tuple[Path, float]]
) -> Home:
    home = Home(scratch / f"home-{len(rows)}")
    pull_from_dir(home, release, trust)
    table = scratch / f"ratings-{len(rows)}.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "score"])
        writer.writerows((str(path.resolve()), score) for path, score in rows)
    with RatingsStore.open(home.ratings) as store:
        import_csv(store, table, store.plan_import(parse_scale("0-1")), show_progress=False)
    return home


def _timed_fit(home: Home, layout: CoefficientLayout) -> tuple[float, float]:
    started = time.perf_counter()
    outcome = fit_profile(home, FitMode.FAST, layout)
    return time.perf_counter() - started, float(outcome.profile.summary["seconds"])


def _import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tastevec.client.cli"], check=True)
    return time.perf_counter() - started


def _score_run(home: Home, folder: Path, scratch: Path) -> tuple[float, int]:
    """Seconds and peak resident bytes of `tastevec-client score` in a fresh process."""
    output = scratch / f"{folder.name}.json"
    run = run_client(
        ["score", "--home", str(home.root), str(folder), "--json", "--no-progress"], output
    )
    scored = len(json.loads(output.read_text()))
    expected = len(list(folder.iterdir()))
    if scored != expected:
        raise TastevecError(f"score ranked {scored} of {expected} images")
    return run.seconds, run.peak_bytes


def _image_folder(scratch: Path, images: list[Path], count: int) -> Path:
    folder = scratch / f"score-{count}"
    if not folder.exists():
        folder.mkdir(parents=True)
        for index in range(count):
            source = images[index % len(images)]
            os.link(source, folder / f"{index:05d}{source.suffix}")
    return folder


def run_device_benchmark(
    world: Path,
    release: Path,
    trust: Path,
    scratch: Path,
    *,
    ratings: tuple[int, ...] = RATINGS,
    score_counts: tuple[int, int] = SCORE_COUNTS,
) -> str:
    people = load_people(world, TEST_GROUPS[:1], None)
    person = next((p for p in people if len(p.images) >= max(ratings)), None)
    if person is None:
        raise TastevecError(f"no test person of {world} has {max(ratings)} ratings")
    rows = list(zip(person.images, person.targets.tolist(), strict=True))
    fits: dict[tuple[int, str, str], tuple[float, float]] = {}
    for count in ratings:
        home = _home_with_ratings(scratch, release, trust, rows[:count])
        for layout in CoefficientLayout:
            if count < MIN_RATINGS[layout]:
                continue
            delete_cache(home.image_cache)
            fits[(count, layout.value, "cold")] = _timed_fit(home, layout)
            fits[(count, layout.value, "warm")] = _timed_fit(home, layout)
    startup = min(_import_seconds() for _ in range(3))
    pool = sorted({p for q in load_people(world, TEST_GROUPS, None) for p in q.images})
    scoring = {}
    for count in score_counts:
        scoring[count] = _score_run(home, _image_folder(scratch, pool, count), scratch)
    return _report(person.name, ratings, fits, startup, scoring)


def _report(
    person: str,
    ratings: tuple[int, ...],
    fits: dict[tuple[int, str, str], tuple[float, float]],
    startup: float,
    scoring: dict[int, tuple[float, int]],
) -> str:
    lines = [
        "# Device benchmark: fitting and scoring on this machine",
        "",
        f"Ratings of the photo world's test person `{person}` (simulated). Fits run "
        "`fit_profile`, the code of `tastevec-client fit`: load and check the release, read "
        "and decode the rated images that are not cached, compute their values, fit, from "
        f"{bench_fit_config().correct_from_ratings} ratings on"
        f" read every rated image once more for the feature "
        "correction, save the profile. Cold: an empty image cache; warm: a refit, every image's "
        "values cached.",
        "",
        *machine_table(describe_machine()),
        "",
        "## Fast fit, seconds (whole fit; in brackets the fit after the release is loaded)",
        "",
        "| ratings | layout | cold | warm | target |",
        "|---|---|---|---|---|",
    ]
    verdicts = []
    for count in ratings:
        for layout in CoefficientLayout:
            if (count, layout.value, "cold") not in fits:
                continue
            cold, cold_inner = fits[(count, layout.value, "cold")]
            warm, warm_inner = fits[(count, layout.value, "warm")]
            lines.append(
                f"| {count} | {layout.value} | {cold:.2f} ({cold_inner:.2f}) | "
                f"{warm:.2f} ({warm_inner:.2f}) | {_target(count)} |"
            )
        if count not in TARGETS:
            continue
        block_cold = fits[(count, "block", "cold")][0]
        met = "met" if block_cold < TARGETS[count] else "**not met**"
        verdicts.append(
            f"- {count}-rating fit (default block layout, cold cache) under "
            f"{TARGETS[count]:.0f} s: {block_cold:.2f} s -> {met}."
        )
    small, big = sorted(scoring)
    small_peak, big_peak = scoring[small][1], scoring[big][1]
    lines += [
        "",
        f"A command line also pays Python's start-up and imports once: {startup:.2f} s "
        "(`import tastevec.client.cli` in a fresh interpreter, best of 3).",
        "",
        "## Scoring a folder, each run a fresh `tastevec-client score` process",
        "",
        "| images | seconds | images / s | peak resident memory |",
        "|---|---|---|---|",
    ]
    for count in (small, big):
        seconds, peak = scoring[count]
        lines.append(
            f"| {count:,} | {seconds:.1f} | {count / seconds:.1f} | {peak / 2**20:.0f} MiB |"
        )
    ratio = big_peak / small_peak
    lines += [
        "",
        f"Peak memory at {big:,} images is {ratio:.2f}x that at {small:,}.",
        "",
        "## Targets",
        "",
        *verdicts,
        f"- Scoring {big:,} images in bounded memory: peak {big_peak / 2**20:.0f} MiB vs "
        f"{small_peak / 2**20:.0f} MiB at {small:,} -> "
        + ("met." if ratio < 1.2 else "**not met**."),
    ]
    return "\n".join(lines) + "\n"
