"""One world image from a source photo: a framing (zoom, placement, tilt) and edits with known
parameters (exposure, contrast, saturation, white balance, blur, noise, JPEG quality)."""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageFilter

# Output sizes per orientation; small enough to forge on a CPU, big enough for 224 px crops.
SIZES = {"landscape": (288, 216), "portrait": (216, 288), "square": (256, 256)}


@dataclass(frozen=True, slots=True)
class Edit:
    """The parameters that make an image; every one is recorded beside the image."""

    orientation: str
    zoom: float  # crop side / largest crop side, 0.35..1
    place_x: float  # crop centre within the free range, -1..1 (0 = centred)
    place_y: float
    tilt: float  # degrees
    exposure: float  # stops
    contrast: float  # factor around mean luminance
    saturation: float  # factor, 0 = grey
    warmth: float  # white-balance shift, -1..1 (blue..amber)
    blur: float  # Gaussian radius in output pixels
    noise: float  # sensor noise sigma, fraction of full scale
    jpeg_quality: int

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def _maybe(rng: np.random.Generator, probability: float, draw: float, default: float) -> float:
    return draw if rng.random() < probability else default


def sample_edit(rng: np.random.Generator) -> Edit:
    """Mostly decent photos, some damaged: each edit applies with its own probability."""
    return Edit(
        orientation=str(rng.choice(list(SIZES), p=[0.55, 0.25, 0.2])),
        zoom=float(rng.uniform(0.35, 1.0)),
        place_x=float(rng.uniform(-1, 1)),
        place_y=float(rng.uniform(-1, 1)),
        tilt=_maybe(rng, 0.35, float(rng.normal(0, 6)), 0.0),
        exposure=_maybe(rng, 0.6, float(rng.uniform(-1.8, 1.5)), 0.0),
        contrast=_maybe(rng, 0.5, float(np.exp(rng.normal(0, 0.3))), 1.0),
        saturation=_maybe(rng, 0.5, float(rng.uniform(0.0, 1.8)), 1.0),
        warmth=_maybe(rng, 0.4, float(rng.uniform(-1, 1)), 0.0),
        blur=_maybe(rng, 0.35, float(rng.uniform(0.5, 3.5)), 0.0),
        noise=_maybe(rng, 0.35, float(rng.uniform(0.01, 0.09)), 0.0),
        jpeg_quality=int(_maybe(rng, 0.4, float(rng.integers(8, 60)), 92)),
    )


def _frame(photo: Image.Image, edit: Edit) -> Image.Image:
    """Crop (zoomed, placed, tilted) and resample in one affine transform."""
    out_w, out_h = SIZES[edit.orientation]
    width, height = photo.size
    aspect = out_w / out_h
    side_w = min(width, height * aspect)
    crop_w, crop_h = side_w * edit.zoom, side_w * edit.zoom / aspect
    angle = math.radians(edit.tilt)
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    # The rotated crop's bounding box must stay inside the photo: shrink it until it does.
    while True:
        box_w = crop_w * cos + crop_h * sin
        box_h = crop_w * sin + crop_h * cos
        if box_w <= width and box_h <= height:
            break
        crop_w, crop_h = crop_w * 0.95, crop_h * 0.95
    centre_x = width / 2 + edit.place_x * (width - box_w) / 2
    centre_y = height / 2 + edit.place_y * (height - box_h) / 2
    scale = crop_w / out_w
    a, b = math.cos(angle) * scale, math.sin(angle) * scale
    # Output pixel (x, y) -> photo pixel, rotating about the crop centre.
    cx, cy = out_w / 2, out_h / 2
    coefficients = (a, -b, centre_x - a * cx + b * cy, b, a, centre_y - b * cx - a * cy)
    return photo.transform(
        (out_w, out_h), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BICUBIC
    )


def _tone(pixels: np.ndarray, edit: Edit) -> np.ndarray:
    linear = pixels**2.2 * (2.0**edit.exposure)
    rgb = np.clip(linear, 0.0, 1.0) ** (1 / 2.2)
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    rgb = luma.mean() + (rgb - luma.mean()) * edit.contrast
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    rgb = luma[..., None] + (rgb - luma[..., None]) * edit.saturation
    gains = np.array([1 + 0.12 * edit.warmth, 1.0, 1 - 0.12 * edit.warmth], dtype=np.float32)
    return np.clip(rgb * gains, 0.0, 1.0)


def render(photo: Image.Image, edit: Edit, rng: np.random.Generator) -> bytes:
    """The edited image as JPEG bytes at `edit.jpeg_quality`."""
    framed = _frame(photo.convert("RGB"), edit)
    pixels = _tone(np.asarray(framed, dtype=np.float32) / 255.0, edit)
    image = Image.fromarray(np.round(pixels * 255.0).astype(np.uint8))
    if edit.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(edit.blur))
    if edit.noise > 0:
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        grain = rng.normal(0.0, edit.noise, size=(*pixels.shape[:2], 1))
        chroma = rng.normal(0.0, edit.noise * 0.4, size=pixels.shape)
        pixels = np.clip(pixels + grain + chroma, 0.0, 1.0)
        image = Image.fromarray(np.round(pixels * 255.0).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=edit.jpeg_quality)
    return buffer.getvalue()
