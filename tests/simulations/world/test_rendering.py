import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tastevec.simulations.world.bundled_photos import bundled_photo
from tastevec.simulations.world.properties import measure
from tastevec.simulations.world.rendering import SIZES, Edit, render, sample_edit

PLAIN = Edit("landscape", 0.8, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 92)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return bundled_photo("chelsea")


def rendered(photo: Image.Image, edit: Edit) -> dict[str, float]:
    return measure(render(photo, edit, np.random.default_rng(0)))


def test_each_orientation_renders_a_jpeg_of_its_size(photo: Image.Image) -> None:
    for orientation, size in SIZES.items():
        jpeg = render(photo, replace(PLAIN, orientation=orientation, tilt=7.0),
                      np.random.default_rng(0))  # fmt: skip
        with Image.open(io.BytesIO(jpeg)) as image:
            assert image.format == "JPEG" and image.size == size


def test_a_tilted_wide_crop_never_shows_the_outside_of_the_photo(photo: Image.Image) -> None:
    jpeg = render(photo, replace(PLAIN, zoom=1.0, tilt=12.0, place_x=1.0, place_y=-1.0),
                  np.random.default_rng(0))  # fmt: skip
    with Image.open(io.BytesIO(jpeg)) as image:
        pixels = np.asarray(image.convert("L"))
    corners = [pixels[:3, :3], pixels[:3, -3:], pixels[-3:, :3], pixels[-3:, -3:]]
    assert min(float(c.mean()) for c in corners) > 8  # no black fill in any corner


def test_edits_move_the_measured_properties_the_right_way(photo: Image.Image) -> None:
    plain = rendered(photo, PLAIN)
    assert rendered(photo, replace(PLAIN, exposure=1.0))["brightness"] > plain["brightness"]
    assert rendered(photo, replace(PLAIN, exposure=-1.0))["brightness"] < plain["brightness"]
    assert rendered(photo, replace(PLAIN, blur=2.5))["sharpness"] < plain["sharpness"] - 1
    assert rendered(photo, replace(PLAIN, contrast=1.5))["contrast"] > plain["contrast"] * 1.3
    grey = rendered(photo, replace(PLAIN, saturation=0.0))["colourfulness"]
    assert grey < plain["colourfulness"] * 0.2
    assert rendered(photo, replace(PLAIN, warmth=1.0))["warmth"] > plain["warmth"] + 0.05
    assert rendered(photo, replace(PLAIN, noise=0.08))["sharpness"] > plain["sharpness"]


def test_sampled_edits_are_reproducible_and_varied() -> None:
    first = [sample_edit(np.random.default_rng([0, n])) for n in range(200)]
    again = [sample_edit(np.random.default_rng([0, n])) for n in range(200)]
    assert first == again
    assert 0.2 < np.mean([e.blur > 0 for e in first]) < 0.5
    assert 0.3 < np.mean([e.jpeg_quality < 92 for e in first]) < 0.5
    assert {e.orientation for e in first} == set(SIZES)
