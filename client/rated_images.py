"""The person's rated images, read back for a fit: still there, unchanged, decodable.

A rating is keyed by the image's content; if the file at its last known path is gone or has
changed since, that rating is left out of the fit and reported (the rating itself is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from tastevec.client.ratings_store import Rating
from tastevec.common.digests import sha256_bytes
from tastevec.common.errors import ImageError
from tastevec.common.images import decode_image, read_image_file


@dataclass(frozen=True, slots=True)
class RatedImages:
    ratings: tuple[Rating, ...]
    images: torch.Tensor  # [n, 3, H, W], preprocessed, in the order of `ratings`
    skipped: tuple[str, ...]  # one line per rating left out


def load_rated_images(
    ratings: Sequence[Rating],
    transform: Callable[[Image.Image], torch.Tensor],
    *,
    min_side: int | None = None,
) -> RatedImages:
    """Each rating's image read once, checked against the hash it was rated with, decoded (at
    no less than `min_side` pixels a side where the format allows) and transformed."""
    kept, tensors, skipped = [], [], []
    for rating in ratings:
        path = Path(rating.path)
        try:
            data = read_image_file(path)  # a regular file only: a FIFO never blocks the fit
            if sha256_bytes(data) != rating.image_sha256:
                skipped.append(f"{path}: changed since you rated it; left out")
                continue
            tensors.append(transform(decode_image(data, path, min_side=min_side)))
        except ImageError as exc:
            if not path.exists() and not path.is_symlink():
                skipped.append(f"{path}: no longer there (rate it again where it is now); left out")
            else:
                skipped.append(f"{exc}; left out")
            continue
        kept.append(rating)
    images = torch.stack(tensors) if tensors else torch.empty(0, 3, 1, 1)
    return RatedImages(tuple(kept), images, tuple(skipped))
