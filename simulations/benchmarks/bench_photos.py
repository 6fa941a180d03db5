"""`tastevec-sim bench photos`: a person's real photos, 12-megapixel JPEGs, through the client.

People's photos are phone and camera JPEGs of about 4000 x 3000 pixels, not the photo world's
512 px images. The bundled real photos (bundled_photos.py), upscaled to 4000 x 3000 and saved
at quality 90 in a few variants each, stand in for them. Side by side in one run:

- Scoring 1,000 such photos end to end with `score_paths` (read, decode at a reduced scale,
  resize, forward, two decoding threads ahead of the model) against the pure forward of the
  same model on already preprocessed tensors, as a ratio (target >= 0.8); and one decode,
  whole against reduced (`decode_image`'s `min_side`).
- A cold `tastevec-client fit` from 10 and from 100 new ratings of such photos, each a fresh
  process timed from start-up to exit (targets < 3 s and < 10 s) with its peak resident
  memory (target <= 1 GB at 100); `rate --csv` of those ratings is timed too.
"""

from __future__ import annotations

import csv
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageEnhance, ImageOps

from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.client.release_cache import load_current_release
from tastevec.client.scoring import BATCH_SIZE, score_paths
from tastevec.client.scoring_model import scoring_model
from tastevec.common.device import default_device
from tastevec.common.errors import TastevecError
from tastevec.common.images import load_image
from tastevec.simulations.benchmarks.client_process import ClientRun, run_client, run_imports
from tastevec.simulations.tools.machine import describe_machine, machine_table
from tastevec.simulations.world.bundled_photos import BUNDLED_PHOTOS, bundled_photo

PHOTO_SIZE = (4000, 3000)
QUALITY = 90
RATINGS = (10, 100)
SCORED = 1_000
TARGET_RATIO = 0.8
FIT_TARGETS = {10: 3.0, 100: 10.0}
MEMORY_TARGET = 2**30
DECODES = 20  # photos decoded whole and reduced for the decode table
FIT_IMPORTS = "tastevec.client.fitting"  # what `fit` imports before it runs a model


@dataclass(frozen=True, slots=True)
class PhotoSettings:
    ratings: tuple[int, ...] = RATINGS
    scored: int = SCORED
    photo_size: tuple[int, int] = PHOTO_SIZE


def make_photos(folder: Path, count: int, size: tuple[int, int] = PHOTO_SIZE) -> list[Path]:
    """`count` distinct JPEGs of `size` at quality 90: each bundled photo upscaled, in
    variants (mirrored, brighter, darker, cropped) so that no two files are the same photo.
    Made once; an existing folder of them is reused."""
    folder.mkdir(parents=True, exist_ok=True)
    variants = ("plain", "mirrored", "brighter", "darker", "cropped", "warmer")
    names = list(itertools.islice(itertools.product(variants, BUNDLED_PHOTOS), count))
    if len(names) < count:
        raise TastevecError(f"can make {len(names)} distinct photos, not {count}")
    paths = []
    for variant, name in names:
        path = folder / f"{name}-{variant}.jpg"
        if not path.exists():
            image = _variant(bundled_photo(name), variant).resize(size, Image.Resampling.BICUBIC)
            image.save(path.with_suffix(".part"), "JPEG", quality=QUALITY)
            path.with_suffix(".part").rename(path)
        paths.append(path)
    return paths


def _variant(image: Image.Image, variant: str) -> Image.Image:
    if variant == "mirrored":
        return ImageOps.mirror(image)
    if variant == "brighter":
        return ImageEnhance.Brightness(image).enhance(1.25)
    if variant == "darker":
        return ImageEnhance.Brightness(image).enhance(0.8)
    if variant == "cropped":
        width, height = image.size
        return image.crop((width // 8, height // 8, width - width // 8, height - height // 8))
    if variant == "warmer":
        red, green, blue = image.split()
        return Image.merge("RGB", (red.point(lambda v: min(255, v + 20)), green, blue))
    return image


def _linked_folder(folder: Path, photos: list[Path], count: int) -> Path:
    """`count` names for the photos, hard links, so that the disk holds each photo once."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        link = folder / f"{index:05d}.jpg"
        if not link.exists():
            os.link(photos[index % len(photos)], link)
    return folder


def _ratings_csv(path: Path, photos: list[Path]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "score"])
        writer.writerows((str(p.resolve()), 1 + index % 5) for index, p in enumerate(photos))
    return path


@dataclass(frozen=True, slots=True)
class FitRun:
    ratings: int
    rate: ClientRun
    fit: ClientRun
    work_seconds: float  # the fit's own work, as its profile records it


def _cold_fit(scratch: Path, release: Path, trust: Path, photos: list[Path]) -> FitRun:
    """A new person: pull, rate `photos`, then the timed `fit`, each a fresh process."""
    home = scratch / f"home-{len(photos)}"
    if home.exists():
        raise TastevecError(f"{home} exists: a cold fit needs a new home (remove it)")
    where = ["--home", str(home)]
    run_client(
        ["pull", *where, "--from-dir", str(release), "--trust", str(trust)],
        home.with_suffix(".pull"),
    )
    table = _ratings_csv(scratch / f"ratings-{len(photos)}.csv", photos)
    rate = run_client(
        ["rate", *where, "--csv", str(table), "--scale", "1-5"], home.with_suffix(".rate")
    )
    fit = run_client(["fit", *where], home.with_suffix(".fit"))
    person = Home(home)
    profile = load_profile(person.profiles, load_current_release(person).manifest.release_id)
    return FitRun(len(photos), rate, fit, float(profile.summary["seconds"]))


def _rate(images: int, seconds: float) -> float:
    return images / seconds if seconds > 0 else float("inf")


@torch.no_grad()
def _forward_rate(model: torch.nn.Module, batch: torch.Tensor, images: int) -> float:
    """Images per second of the model alone on a preprocessed batch, `images` in all."""
    model(batch)  # warm-up
    rounds = max(1, images // len(batch))
    started = time.perf_counter()
    for _ in range(rounds):
        model(batch)
    return _rate(rounds * len(batch), time.perf_counter() - started)


def _decode_seconds(photos: list[Path], min_side: int | None) -> float:
    started = time.perf_counter()
    for path in photos:
        load_image(path, min_side=min_side)
    return (time.perf_counter() - started) / len(photos)


def run_photos_benchmark(
    release: Path, trust: Path, scratch: Path, settings: PhotoSettings = PhotoSettings()
) -> str:
    if settings.scored < BATCH_SIZE:
        raise TastevecError(f"score at least {BATCH_SIZE} photos, not {settings.scored}")
    photos = make_photos(scratch / "photos", max(settings.ratings), settings.photo_size)
    fits = [
        _cold_fit(scratch, release, trust, photos[:count]) for count in sorted(settings.ratings)
    ]
    imports = min(
        (run_imports(FIT_IMPORTS, scratch / "imports.out") for _ in range(3)),
        key=lambda run: run.seconds,
    )
    home = Home(scratch / f"home-{max(settings.ratings)}")
    device = default_device()
    model, _ = scoring_model(home, load_current_release(home), device)
    preprocessing = model.preprocessing
    side = preprocessing.decode_side
    sample = photos[:DECODES]
    whole, reduced = _decode_seconds(sample, None), _decode_seconds(sample, side)
    transform = preprocessing.transform()
    batch = torch.stack(
        [transform(load_image(photos[i % len(photos)], min_side=side)) for i in range(BATCH_SIZE)]
    ).to(device)
    folder = _linked_folder(scratch / f"score-{settings.scored}", photos, settings.scored)
    forward = _forward_rate(model, batch, settings.scored)
    started = time.perf_counter()
    scored = score_paths(model, [folder])
    end_to_end = _rate(len(scored.ranked), time.perf_counter() - started)
    if len(scored.ranked) != settings.scored:
        raise TastevecError(f"scored {len(scored.ranked)} of {settings.scored} photos")
    return _report(
        settings, fits, imports, (whole, reduced, side), forward, end_to_end, str(device)
    )


def _report(
    settings: PhotoSettings,
    fits: list[FitRun],
    imports: ClientRun,
    decode: tuple[float, float, int],
    forward: float,
    end_to_end: float,
    device: str,
) -> str:
    width, height = settings.photo_size
    whole, reduced, side = decode
    ratio = end_to_end / forward
    lines = [
        "# Real photos, real speed: 12-megapixel JPEGs through the client",
        "",
        f"Photos: the bundled real photos upscaled to {width} x {height} and saved as JPEG at "
        f"quality {QUALITY}, in variants so that each file is a different photo "
        f"({max(settings.ratings)} of them; the {settings.scored:,} scored are hard links to "
        "them, so the files are in the page cache, as a person's recent photos would be). "
        "Every figure below comes from this one run.",
        "",
        *machine_table(describe_machine()),
        "",
        "## Decoding one photo",
        "",
        "| decode | ms per photo |",
        "|---|---|",
        f"| whole ({width} x {height}) | {whole * 1000:.0f} |",
        f"| reduced (both sides >= {side} px, what the model's resize needs) | "
        f"{reduced * 1000:.0f} |",
        "",
        f"Reduced decoding is {whole / reduced:.1f}x faster: the JPEG decoder's own DCT "
        "scaling (1/2, 1/4, 1/8), chosen so that the image is never smaller than the size "
        "the transform resizes to.",
        "",
        f"## Scoring {settings.scored:,} photos (`score_paths`, device {device})",
        "",
        "| | photos / s |",
        "|---|---|",
        f"| model forward alone, preprocessed batches of {BATCH_SIZE} | {forward:.1f} |",
        f"| end to end: read, decode, resize, forward | {end_to_end:.1f} |",
        f"| ratio | **{ratio:.2f}** (target >= {TARGET_RATIO}) |",
        "",
        "## A new person's first fit, each command a fresh process",
        "",
        "| ratings | `rate --csv` s | `fit` s (start-up to exit) | of which the fit's work s "
        "| `fit` peak memory | target |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = [
        f"- Scoring end to end at >= {TARGET_RATIO}x the forward alone: {ratio:.2f}x -> "
        + ("met." if ratio >= TARGET_RATIO else "**not met**.")
    ]
    for run in fits:
        target = FIT_TARGETS.get(run.ratings)
        lines.append(
            f"| {run.ratings} | {run.rate.seconds:.1f} | {run.fit.seconds:.1f} | "
            f"{run.work_seconds:.1f} | {run.fit.peak_bytes / 2**20:.0f} MiB | "
            + (f"< {target:.0f} s |" if target else "— |")
        )
        if target:
            met = "met" if run.fit.seconds < target else "**not met**"
            verdicts.append(
                f"- Cold `fit` from {run.ratings} ratings under {target:.0f} s: "
                f"{run.fit.seconds:.1f} s -> {met}."
            )
    biggest = fits[-1]
    verdicts.append(
        f"- Peak memory of the {biggest.ratings}-rating fit <= 1 GiB: "
        f"{biggest.fit.peak_bytes / 2**20:.0f} MiB -> "
        + ("met." if biggest.fit.peak_bytes <= MEMORY_TARGET else "**not met**.")
    )
    lines += [
        "",
        "The fit's work is what its profile records: the rated images' values (each task "
        "vector's own model and the Jacobian, image by image), the coefficients and the "
        "correction. The rest is start-up, loading the release and saving. Under both lies "
        f"the fit's imports (torch, torchvision, timm): a fresh interpreter that only imports "
        f"`{FIT_IMPORTS}` took {imports.seconds:.1f} s and {imports.peak_bytes / 2**20:.0f} MiB "
        "(the best of 3), before any model runs.",
        "",
        "## Targets",
        "",
        *verdicts,
    ]
    return "\n".join(lines) + "\n"
