import pytest

from tastevec.common.errors import TastevecError
from tastevec.simulations.bundled_photos import SKIMAGE_PHOTOS, bundled_photo, bundled_photos


def test_every_bundled_photo_loads_as_a_colour_image() -> None:
    photos = bundled_photos()
    assert list(photos) == list(SKIMAGE_PHOTOS)
    for name, image in photos.items():
        assert image.mode == "RGB", name
        assert min(image.size) >= 256, name
    assert bundled_photos()["coffee"].tobytes() == photos["coffee"].tobytes()  # deterministic


def test_unknown_photo_is_a_clear_error() -> None:
    with pytest.raises(TastevecError, match="no bundled photo 'eagle'"):
        bundled_photo("eagle")
