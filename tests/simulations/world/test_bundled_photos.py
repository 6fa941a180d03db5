import pytest

from tastevec.common.errors import TastevecError
from tastevec.simulations.world.bundled_photos import (
    BUNDLED_PHOTOS,
    DEMO_PHOTOS,
    bundled_photo,
    bundled_photos,
)


def test_every_bundled_photo_loads_as_an_rgb_image() -> None:
    photos = bundled_photos(BUNDLED_PHOTOS)
    assert list(photos) == list(BUNDLED_PHOTOS)
    for name, image in photos.items():
        assert image.mode == "RGB", name
        assert min(image.size) >= 256, name
        assert BUNDLED_PHOTOS[name].tags, name
    assert bundled_photo("coffee").tobytes() == photos["coffee"].tobytes()  # deterministic


def test_the_demo_set_is_the_colour_scenes() -> None:
    assert list(bundled_photos()) == list(DEMO_PHOTOS)


def test_unknown_photo_is_a_clear_error() -> None:
    with pytest.raises(TastevecError, match="no bundled photo 'eagle'"):
        bundled_photo("eagle")
