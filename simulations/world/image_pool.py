"""The world's images: many framings and edits of each source photo, written once to disk.

Source photos are split into a training domain and a held-out domain (photos no training
database sees, like the paper's test-only AADB and REAL-CUR). Image i is made from its own
seeded generator, so the pool is the same whatever order it is built in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import TastevecError
from tastevec.common.images import find_images, load_image
from tastevec.simulations.world.bundled_photos import BUNDLED_PHOTOS, bundled_photo
from tastevec.simulations.world.properties import feature_row, measure
from tastevec.simulations.world.rendering import Edit, render, sample_edit

# Bundled photos no training database sees: a portrait, a landscape, a flower.
HELD_OUT_BUNDLED = ("grace_hopper", "china", "flower")
FIRST_NUMBER = 100_000  # image file names are numbers, as AVA's and KonIQ's are


@dataclass(frozen=True, slots=True)
class SourcePhoto:
    name: str
    tags: tuple[str, ...]
    held_out: bool
    load: Callable[[], Image.Image]


@dataclass(frozen=True, slots=True)
class WorldImage:
    number: int
    source: str
    held_out: bool
    edit: Edit
    features: np.ndarray  # raw (unstandardised), in properties.FEATURES order
    path: Path

    @property
    def file_name(self) -> str:
        return f"{self.number}.jpg"


def bundled_sources() -> list[SourcePhoto]:
    return [
        SourcePhoto(name, photo.tags, name in HELD_OUT_BUNDLED, partial(bundled_photo, name))
        for name, photo in BUNDLED_PHOTOS.items()
    ]


def folder_sources(folder: Path, held_out_fraction: float = 0.2) -> list[SourcePhoto]:
    """The user's own photos (no content tags); a seeded-hash fifth of them is held out."""
    paths = find_images(folder)
    if len(paths) < 2:
        raise TastevecError(f"need at least 2 photos in {folder} (found {len(paths)})")
    ranked = sorted(paths, key=lambda p: hashlib.sha256(p.name.encode()).digest())
    held_out = set(ranked[: max(1, round(len(paths) * held_out_fraction))])
    return [SourcePhoto(p.stem, (), p in held_out, partial(load_image, p)) for p in sorted(paths)]


def build_pool(
    sources: Sequence[SourcePhoto],
    train_images: int,
    held_out_images: int,
    folder: Path,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> list[WorldImage]:
    """Render `train_images` from the training sources, then `held_out_images` from the
    held-out ones, cycling through the sources so each is used about equally."""
    domains = [
        ([s for s in sources if not s.held_out], train_images),
        ([s for s in sources if s.held_out], held_out_images),
    ]
    photos: dict[str, Image.Image] = {}
    folder.mkdir(parents=True, exist_ok=True)
    pool: list[WorldImage] = []
    for domain, count in domains:
        if count and not domain:
            raise TastevecError("no source photos for one of the domains (training, held-out)")
        for k in range(count):
            source = domain[k % len(domain)]
            if source.name not in photos:
                photos[source.name] = source.load()
            number = FIRST_NUMBER + len(pool)
            rng = np.random.default_rng([seed, number])
            edit = sample_edit(rng)
            jpeg = render(photos[source.name], edit, rng)
            path = folder / f"{number}.jpg"
            write_atomic(path, jpeg)
            features = feature_row(measure(jpeg), edit, source.tags)
            pool.append(WorldImage(number, source.name, source.held_out, edit, features, path))
            if progress is not None:
                progress(1)
    return pool
