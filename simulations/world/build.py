"""Building a photo world: render the images, rate them as each database would, write every
database in its real format, and describe the result in a world card."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import TastevecError
from tastevec.simulations.tools.machine import describe_machine
from tastevec.simulations.world import databases as make
from tastevec.simulations.world.card import build_card
from tastevec.simulations.world.database_files import write_csv
from tastevec.simulations.world.databases import BuiltDatabase, WorldState
from tastevec.simulations.world.image_pool import (
    build_pool,
    bundled_sources,
    folder_sources,
)
from tastevec.simulations.world.properties import FEATURES, standardise_columns
from tastevec.simulations.world.sizes import WorldSize
from tastevec.simulations.world.tastes import notion_utilities

logger = logging.getLogger(__name__)

WORLD_FORMAT = "tastevec-photo-world/1"
WORLD_FILE = "world.json"
CARD_FILE = "world-card.md"
FIGURES_FILE = "world-card.json"
_OUTPUTS = ("photos", "databases", "truth", WORLD_FILE, CARD_FILE, FIGURES_FILE)


def _prepare(out: Path) -> None:
    """An empty folder, or a previous world's (whose outputs are replaced); nothing else."""
    if out.exists() and not out.is_dir():
        raise TastevecError(f"world output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / WORLD_FILE).is_file():
        raise TastevecError(
            f"world output {out} is not empty and holds no {WORLD_FILE}; choose an empty folder"
        )
    for name in _OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _write_truth(out: Path, world: WorldState, built: list[BuiltDatabase]) -> None:
    """The hidden truth, for analysis: how each image was made and each person's taste."""
    edit_names = list(world.images[0].edit.to_dict())
    write_csv(
        out / "truth" / "images.csv",
        ["image", "source", "held_out", *edit_names, *FEATURES],
        (
            [
                image.file_name,
                image.source,
                int(image.held_out),
                *image.edit.to_dict().values(),
                *(f"{v:.5g}" for v in image.features),
            ]
            for image in world.images
        ),
    )
    mix_names = sorted({name for db in built for r in db.people for name in r.person.mix})
    write_csv(
        out / "truth" / "people.csv",
        [
            "person",
            "database",
            "split",
            "ratings",
            "unusual",
            "bias",
            "scale",
            "noise",
            "personal",
            *(f"mix_{n}" for n in mix_names),
        ],
        (
            [
                r.person.id,
                r.database,
                r.split,
                len(r.ratings),
                int(r.person.unusual),
                f"{r.person.bias:.4f}",
                f"{r.person.scale:.4f}",
                f"{r.person.noise:.4f}",
                f"{r.person.personal:.4f}",
                *(f"{r.person.mix.get(n, 0.0):.4f}" for n in mix_names),
            ]
            for db in built
            for r in db.people
        ),
    )


def build_world(
    out: Path, size: WorldSize, *, photos: Path | None = None, seed: int = 0, progress: bool = True
) -> dict[str, Any]:
    """Build the world under `out`; returns the card's figures (also in world-card.json)."""
    started = time.perf_counter()
    out = Path(out)
    _prepare(out)
    sources = folder_sources(photos) if photos is not None else bundled_sources()
    total = size.train_images + size.held_out_images
    with tqdm(total=total, desc="rendering", unit="img", disable=not progress) as bar:
        images = build_pool(
            sources,
            size.train_images,
            size.held_out_images,
            out / "photos",
            seed,
            progress=bar.update,
        )
    features = standardise_columns(np.stack([image.features for image in images]))
    world = WorldState(
        out / "databases",
        images,
        features,
        notion_utilities(features),
        np.random.default_rng([seed, 1]),
    )
    steps = [
        ("koniq10k", lambda: make.make_koniq10k(world, size.crowd_database_images)),
        ("spaq", lambda: make.make_spaq(world, size.crowd_database_images)),
        ("ava", lambda: make.make_ava(world, size.crowd_database_images)),
        ("tad66k", lambda: make.make_tad66k(world, size.crowd_database_images)),
        ("flickr_aes", lambda: make.make_flickr_aes(world, size)),
        ("para", lambda: make.make_para(world, size)),
        ("aadb", lambda: make.make_aadb(world, size)),
        ("real_cur", lambda: make.make_real_cur(world, size)),
    ]
    built = []
    for name, step in tqdm(steps, desc="rating", unit="db", disable=not progress):
        logger.info("rating and writing %s", name)
        built.append(step())
    _write_truth(out, world, built)
    machine = describe_machine()
    header = {
        "format": WORLD_FORMAT,
        "size": size.name,
        "seed": seed,
        "photos": str(photos) if photos is not None else "bundled",
        "images": len(images),
        "train_images": size.train_images,
        "held_out_images": size.held_out_images,
        "train_sources": [s.name for s in sources if not s.held_out],
        "held_out_sources": [s.name for s in sources if s.held_out],
        "people": sum(len(db.people) for db in built),
        "fewest_ratings_per_person": min(len(r.ratings) for db in built for r in db.people),
        "world_size": asdict(size),
        "build_seconds": time.perf_counter() - started,
        "machine": f"{machine['cpu']}, {machine['cpu cores (os.cpu_count)']} cores",
    }
    card, figures = build_card(world, built, header)
    manifest = {
        **{k: header[k] for k in ("format", "size", "seed", "photos", "images", "people")},
        "databases": {
            db.name: {
                "loader": db.name,
                "path": f"databases/{db.name}",
                "role": db.role,
                "mirrors": db.mirrors,
                "image_options": db.image_options,
                "people_options": db.people_options,
            }
            for db in built
        },
    }
    write_atomic(out / WORLD_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    write_atomic(out / CARD_FILE, card.encode())
    write_atomic(out / FIGURES_FILE, (json.dumps(figures, indent=2) + "\n").encode())
    return figures
