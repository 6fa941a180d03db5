"""Real photos that ship inside pip packages (scikit-image, scikit-learn, matplotlib), usable
with no download, each with the content tags the photo world's raters react to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tastevec.common.errors import TastevecError

# What a photo shows; raters in the photo world like or dislike these.
CONTENT_TAGS = (
    "people", "animal", "food", "object", "outdoor", "nature", "space", "science", "texture",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BundledPhoto:
    name: str
    package: str
    tags: tuple[str, ...]
    load: Callable[[], np.ndarray]

    def __post_init__(self) -> None:
        unknown = set(self.tags) - set(CONTENT_TAGS)
        if unknown:
            raise ValueError(f"photo {self.name} has unknown tags {sorted(unknown)}")


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image: np.ndarray = getattr(skimage.data, name)()
        return image[0] if name == "stereo_motorcycle" else image  # (left, right, disparity)

    return load


def _sklearn(file_name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return np.asarray(load_sample_image(file_name))

    return load


def _matplotlib(file_name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import matplotlib

        with Image.open(Path(matplotlib.get_data_path()) / "sample_data" / file_name) as image:
            return np.asarray(image.convert("RGB"))

    return load


def _photo(name: str, package: str, tags: str, load: Callable[[], np.ndarray]) -> BundledPhoto:
    return BundledPhoto(name, package, tuple(tags.split()), load)


_CATALOG = (
    _photo("astronaut", "scikit-image", "people space", _skimage("astronaut")),
    _photo("chelsea", "scikit-image", "animal", _skimage("chelsea")),
    _photo("coffee", "scikit-image", "food object", _skimage("coffee")),
    _photo("rocket", "scikit-image", "outdoor space object", _skimage("rocket")),
    _photo("stereo_motorcycle", "scikit-image", "object", _skimage("stereo_motorcycle")),
    _photo("hubble_deep_field", "scikit-image", "space science", _skimage("hubble_deep_field")),
    _photo("immunohistochemistry", "scikit-image", "science texture",
           _skimage("immunohistochemistry")),
    _photo("retina", "scikit-image", "science", _skimage("retina")),
    _photo("camera", "scikit-image", "people outdoor", _skimage("camera")),
    _photo("coins", "scikit-image", "object", _skimage("coins")),
    _photo("moon", "scikit-image", "space nature", _skimage("moon")),
    _photo("brick", "scikit-image", "texture", _skimage("brick")),
    _photo("grass", "scikit-image", "nature texture", _skimage("grass")),
    _photo("gravel", "scikit-image", "nature texture", _skimage("gravel")),
    _photo("clock", "scikit-image", "object", _skimage("clock")),
    _photo("china", "scikit-learn", "outdoor nature", _sklearn("china.jpg")),
    _photo("flower", "scikit-learn", "nature", _sklearn("flower.jpg")),
    _photo("grace_hopper", "matplotlib", "people", _matplotlib("grace_hopper.jpg")),
)  # fmt: skip
BUNDLED_PHOTOS: dict[str, BundledPhoto] = {photo.name: photo for photo in _CATALOG}
# Colour photographs of everyday scenes, the demo's set.
DEMO_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")


def bundled_photo(name: str) -> Image.Image:
    """One bundled photo as an RGB image (greyscale photos are repeated into three channels)."""
    photo = BUNDLED_PHOTOS.get(name)
    if photo is None:
        raise TastevecError(f"no bundled photo {name!r}; have {', '.join(BUNDLED_PHOTOS)}")
    try:
        return Image.fromarray(photo.load()).convert("RGB")
    except ImportError as exc:
        raise TastevecError(
            f"bundled photo {name} needs {photo.package} (pip install 'tastevec[sim]')"
        ) from exc


def bundled_photos(names: Iterable[str] = DEMO_PHOTOS) -> dict[str, Image.Image]:
    return {name: bundled_photo(name) for name in names}
