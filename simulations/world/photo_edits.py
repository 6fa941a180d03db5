"""Photo edits with a known severity, for building rated image sets from real photos."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def adjust_exposure(image: Image.Image, stops: float) -> Image.Image:
    """Scale linear light by 2**stops (approximate sRGB gamma 2.2), clipping highlights."""
    linear = (np.asarray(image, dtype=np.float32) / 255.0) ** 2.2
    exposed = np.clip(linear * (2.0**stops), 0.0, 1.0) ** (1 / 2.2)
    return Image.fromarray(np.round(exposed * 255.0).astype(np.uint8))


def blur(image: Image.Image, radius: float) -> Image.Image:
    """Gaussian blur; radius in pixels at the image's own resolution."""
    return image if radius <= 0 else image.filter(ImageFilter.GaussianBlur(radius))


def square_crop(image: Image.Image, size: int, *, offset: float = 0.5) -> Image.Image:
    """The largest centred-at-`offset` square, resized to `size` x `size`."""
    width, height = image.size
    side = min(width, height)
    left = round((width - side) * offset)
    top = round((height - side) * offset)
    return image.crop((left, top, left + side, top + side)).resize(
        (size, size), Image.Resampling.BICUBIC
    )
