"""Image preprocessing resolved from the backbone's own pretrained config.

Clients never choose mean, std or resize policy by hand: they take the `Preprocessing` that
travels with the model (and, later, in the release manifest), so they cannot drift from the
weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import timm.data
import torch
from PIL import Image
from torch import nn

from tastevec.common.errors import BackboneError

_CROP_MODES = ("center", "squash")
_INTERPOLATIONS = ("bicubic", "bilinear", "nearest", "lanczos", "box", "hamming")


@dataclass(frozen=True, slots=True)
class Preprocessing:
    """Resize, crop to `input_size` square, scale to [0,1], normalise.

    `crop_mode` is timm's: `center` keeps the aspect ratio and crops the centre (what the
    backbone was trained with); `squash` resizes to a square first, so that with
    `crop_pct` 1.0 the whole image, composition included, is seen.
    """

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    crop_pct: float = 0.875
    crop_mode: str = "center"

    def __post_init__(self) -> None:
        if not 16 <= self.input_size <= 4096:
            raise BackboneError(f"input size {self.input_size} is outside 16..4096")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise BackboneError(f"mean {self.mean} / std {self.std} need 3 values, std > 0")
        if self.interpolation not in _INTERPOLATIONS:
            raise BackboneError(f"unknown interpolation {self.interpolation!r}")
        if not 0.0 < self.crop_pct <= 1.0:
            raise BackboneError(f"crop_pct {self.crop_pct} is outside (0, 1]")
        if self.crop_mode not in _CROP_MODES:
            raise BackboneError(f"unknown crop mode {self.crop_mode!r} ({', '.join(_CROP_MODES)})")

    @classmethod
    def from_model(cls, model: nn.Module) -> Preprocessing:
        """What the model's pretrained config says (timm's `resolve_data_config`)."""
        cfg = timm.data.resolve_data_config({}, model=model)
        _, height, width = cfg["input_size"]
        if height != width:
            raise BackboneError(f"non-square input size {height}x{width} is not supported")
        return cls(
            input_size=int(height),
            mean=_triple(cfg["mean"]),
            std=_triple(cfg["std"]),
            interpolation=str(cfg["interpolation"]),
            crop_pct=float(cfg["crop_pct"]),
        )

    @property
    def decode_side(self) -> int:
        """The pixels a side of a decoded image needs: the transform resizes (the short side,
        or both sides when squashing) to this before it crops, so a decoder may reduce a
        larger image to it for free (`tastevec.common.images.decode_image`'s `min_side`)."""
        return math.floor(self.input_size / self.crop_pct)

    def with_size(self, input_size: int) -> Preprocessing:
        """The same policy at another resolution (e.g. a reduced size for CPU runs)."""
        return replace(self, input_size=input_size)

    def whole_image(self) -> Preprocessing:
        """The same policy, but the whole image squashed to the square: nothing cropped."""
        return replace(self, crop_mode="squash", crop_pct=1.0)

    def transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """A callable turning one RGB PIL image into a float tensor [3, size, size]."""
        return timm.data.create_transform(
            input_size=(3, self.input_size, self.input_size),
            interpolation=self.interpolation,
            mean=self.mean,
            std=self.std,
            crop_pct=self.crop_pct,
            crop_mode=self.crop_mode,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        try:
            return cls(
                input_size=int(data["input_size"]),
                mean=_triple(data["mean"]),
                std=_triple(data["std"]),
                interpolation=str(data["interpolation"]),
                crop_pct=float(data["crop_pct"]),
                crop_mode=str(data.get("crop_mode", "center")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackboneError(f"malformed preprocessing record {dict(data)!r}: {exc}") from exc


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return (a, b, c)
