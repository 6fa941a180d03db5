import numpy as np
from PIL import Image

from tastevec.simulations.world.photo_edits import adjust_exposure, blur, square_crop


def _grey(value: int, size: tuple[int, int] = (8, 8)) -> Image.Image:
    return Image.new("RGB", size, (value, value, value))


def test_one_stop_doubles_linear_light() -> None:
    brighter = np.asarray(adjust_exposure(_grey(100), 1.0), dtype=np.float64)
    expected = ((100 / 255) ** 2.2 * 2) ** (1 / 2.2) * 255
    assert np.allclose(brighter, expected, atol=0.6)
    assert np.asarray(adjust_exposure(_grey(100), 0.0)).max() == 100
    assert np.asarray(adjust_exposure(_grey(250), 3.0)).min() == 255  # highlights clip
    assert np.asarray(adjust_exposure(_grey(100), -1.0)).max() < 100


def test_blur_removes_fine_detail_and_zero_radius_is_identity() -> None:
    stripes = np.zeros((32, 32, 3), dtype=np.uint8)
    stripes[:, ::2] = 255
    image = Image.fromarray(stripes)
    assert blur(image, 0.0) is image
    blurred = np.asarray(blur(image, 2.0), dtype=np.float64)
    assert blurred[:, 4:-4].std() < 0.2 * stripes.astype(np.float64).std()


def test_square_crop_takes_the_largest_square_at_the_offset() -> None:
    wide = np.zeros((20, 60, 3), dtype=np.uint8)
    wide[:, :20] = 255  # left third white
    image = Image.fromarray(wide)
    left = square_crop(image, 10, offset=0.0)
    assert left.size == (10, 10)
    assert np.asarray(left).min() > 200
    assert np.asarray(square_crop(image, 10, offset=1.0)).max() < 50
