"""What raters in the photo world see: measured image properties, the edit parameters, and the
content tags, as one standardised feature matrix (rows = images)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from tastevec.simulations.world.bundled_photos import CONTENT_TAGS
from tastevec.simulations.world.rendering import Edit

MEASURED = ("brightness", "contrast", "colourfulness", "sharpness", "detail", "warmth")
FROM_EDITS = ("exposure_error", "noise", "compression", "tilt", "zoom", "thirds")
FEATURES = MEASURED + FROM_EDITS + tuple(f"tag_{tag}" for tag in CONTENT_TAGS)
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def measure(jpeg: bytes) -> dict[str, float]:
    """Properties measured on the decoded pixels, as a rater's eye would see them."""
    with Image.open(io.BytesIO(jpeg)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    luma = rgb @ _LUMA
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = red - green, 0.5 * (red + green) - blue
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    laplacian = (
        luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1] - 4 * luma[1:-1, 1:-1]
    )
    gradient = np.hypot(np.diff(luma, axis=0)[:, :-1], np.diff(luma, axis=1)[:-1, :])
    return {
        "brightness": float(luma.mean()),
        "contrast": float(luma.std()),
        "colourfulness": float(colourfulness),
        "sharpness": float(np.log(laplacian.var() + 1e-6)),
        "detail": float(gradient.mean()),
        "warmth": float(red.mean() - blue.mean()),
    }


def from_edit(edit: Edit, brightness: float) -> dict[str, float]:
    """Properties known from how the image was made (a rater notices them, a meter cannot)."""
    return {
        "exposure_error": (brightness - 0.46) ** 2,
        "noise": edit.noise,
        "compression": max(0.0, (92 - edit.jpeg_quality) / 84),
        "tilt": abs(edit.tilt),
        "zoom": edit.zoom,
        # Placement near the thirds lines (|offset| ~ 0.6 of the free range) reads as composed.
        "thirds": -((abs(edit.place_x) - 0.6) ** 2 + (abs(edit.place_y) - 0.6) ** 2),
    }


def feature_row(measured: dict[str, float], edit: Edit, tags: Sequence[str]) -> np.ndarray:
    values = {**measured, **from_edit(edit, measured["brightness"])}
    values.update({f"tag_{tag}": float(tag in tags) for tag in CONTENT_TAGS})
    return np.array([values[name] for name in FEATURES], dtype=np.float64)


def standardise_columns(features: np.ndarray) -> np.ndarray:
    """Each column to mean 0, std 1 over the world's images (constant columns stay 0)."""
    centred = features - features.mean(axis=0)
    spread = features.std(axis=0)
    return centred / np.where(spread > 0, spread, 1.0)
