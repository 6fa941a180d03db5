"""Simulated devices on one machine that rated the same photo need not each run it: the
values the fast fit caches per image (its score at the expansion point, the task vectors'
own scores, the Jacobian) depend only on the photo and the model, so they are computed once
per distinct photo, through the device's own `rated_values`, and each home's cache receives
the rows of the photos its person rated: afterwards each home holds what its device would
have computed for itself. In the photo world each population photo has about ten raters, so
this saves about nine runs in ten. A real device computes its own (the report says which
times include it).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tastevec.client.fast_fit import rated_values, values_expansion
from tastevec.client.home import Home
from tastevec.client.image_cache import ImageCache
from tastevec.client.rated_images import load_rated_images
from tastevec.client.ratings_store import Rating, RatingsStore
from tastevec.client.release_cache import load_current_release
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.device import default_device
from tastevec.common.errors import TastevecError
from tastevec.common.release_model import load_release_model, load_release_task_vectors


@dataclass(frozen=True, slots=True)
class SharedValues:
    photos: int  # distinct photos run
    ratings: int  # rows given to the homes (what the devices would have run)
    seconds: float


def share_image_values(homes: Sequence[Path]) -> SharedValues:
    """Run each distinct photo rated in `homes` once under their current release (all must
    have the same model) and give every home the rows of its own ratings."""
    started = time.perf_counter()
    installed = [load_current_release(Home(h)) for h in homes]
    models = {r.manifest.model_id for r in installed}
    if len(models) != 1:
        raise TastevecError(f"the homes hold {len(models)} models; sharing needs one")
    release = installed[0]
    base = load_release_model(release.root, release.manifest).to(default_device())
    vectors = load_release_task_vectors(release.root, release.manifest)
    transform, side = base.preprocessing.transform(), base.preprocessing.decode_side
    per_home: list[list[Rating]] = []
    distinct: dict[str, Rating] = {}
    for home in homes:
        with RatingsStore.open(Home(home).ratings) as store:
            ratings = store.ratings()
        per_home.append(ratings)
        for rating in ratings:
            distinct.setdefault(rating.image_sha256, rating)
    model_id = release.manifest.model_id
    with (
        tempfile.TemporaryDirectory() as scratch,
        ImageCache.open(Path(scratch) / "shared.sqlite") as shared,
    ):
        computed = rated_values(
            base,
            vectors,
            list(distinct.values()),
            layout=CoefficientLayout.GLOBAL,
            cache=shared,
            model_id=model_id,
            load_images=lambda chosen: load_rated_images(chosen, transform, min_side=side),
        )
    values = dict(zip((r.image_sha256 for r in computed.ratings), computed.values, strict=True))
    expansion = values_expansion(base, vectors)
    given = 0
    for home, ratings in zip(homes, per_home, strict=True):
        rows = {r.image_sha256: values[r.image_sha256] for r in ratings if r.image_sha256 in values}
        with ImageCache.open(Home(home).image_cache) as cache:
            cache.put(model_id, expansion, rows)
        given += len(rows)
    return SharedValues(len(values), given, time.perf_counter() - started)
