"""Real photos that ship inside pip packages, usable with no download."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from tastevec.common.errors import TastevecError


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image: np.ndarray = getattr(skimage.data, name)()
        return image[0] if name == "stereo_motorcycle" else image  # (left, right, disparity)

    return load


# Colour photographs of everyday scenes in scikit-image's wheel (no pooch download).
SKIMAGE_PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    name: _skimage(name)
    for name in ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")
}


def bundled_photo(name: str) -> Image.Image:
    """One bundled photo as an RGB image."""
    loader = SKIMAGE_PHOTOS.get(name)
    if loader is None:
        raise TastevecError(f"no bundled photo {name!r}; have {', '.join(SKIMAGE_PHOTOS)}")
    try:
        return Image.fromarray(loader()).convert("RGB")
    except ImportError as exc:
        raise TastevecError(
            "bundled photos need scikit-image (pip install 'tastevec[sim]')"
        ) from exc


def bundled_photos() -> dict[str, Image.Image]:
    return {name: bundled_photo(name) for name in SKIMAGE_PHOTOS}
