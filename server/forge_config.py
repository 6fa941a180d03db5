"""`forge.toml`: what to forge, read into frozen dataclasses.

```toml
world = "photo-world"          # forge every training database of a photo world, or list them:
# [[databases]]
# name = "koniq10k"             # a loader of tastevec.common.datasets.catalog
# root = "/data/koniq10k"
# options = { }                 # that loader's options (split fractions, seeds, ...)

[backbone]
name = "tf_efficientnet_lite0"  # any timm name; weights: auto | embedded | hub | random | FILE
weights = "auto"
head = "distribution"           # distribution (the paper's 10 bins) | scalar
head_seed = 0

[training]
loss = "rank"                   # rank | mse | emd
lr = 1e-4                       # backbone; the fresh head learns at head_lr
head_lr = 1e-3
weight_decay = 0.01
epochs = 3                      # or steps = N (overrides epochs)
batch_size = 32
image_size = 224                # default: the backbone's own
whole_image = false             # true: squash the whole image to the square (composition
                                # kept) instead of the backbone's own centre crop
scope = "all"                   # all | head | top-N (the last N blocks + head)
amp = true                      # mixed precision on CUDA (bfloat16); ignored on the CPU
seed = 0
checkpoint_every = 100          # steps

[release]
encoding = "float16"            # float32 | float16 | int8 | topk-20 (keep the top 20 %)
```

Relative paths are relative to the config file.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tastevec.common.backbone import DEFAULT_BACKBONE, WEIGHTS_AUTO, BackboneSpec
from tastevec.common.datasets.catalog import DATABASES
from tastevec.common.errors import TastevecError
from tastevec.common.score_head import HeadKind
from tastevec.common.task_vector_encoding import parse_encoding
from tastevec.server.losses import LOSSES
from tastevec.server.parameter_scope import parse_scope

# The paper's order of task vectors (AVA, FLICKR-AES, TAD66K, PARA, KonIQ-10k, SPAQ); a photo
# world's training databases are forged in this order.
PAPER_ORDER = ("ava", "flickr_aes", "tad66k", "para", "koniq10k", "spaq")
WORLD_FILE = "world.json"
TEST_ONLY_ROLE = "test-only"


class ConfigError(TastevecError):
    """A forge config that cannot be read or says something impossible (names the key)."""


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    name: str
    root: Path
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in DATABASES:
            raise ConfigError(f"databases: unknown database {self.name!r} ({', '.join(DATABASES)})")


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    loss: str = "rank"
    lr: float = 1e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    epochs: int = 3
    steps: int | None = None
    batch_size: int = 32
    image_size: int | None = None
    whole_image: bool = False
    scope: str = "all"
    amp: bool = True
    seed: int = 0
    checkpoint_every: int = 100
    warmup_fraction: float = 0.05

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"training.loss: {self.loss!r} is not one of {', '.join(LOSSES)}")
        try:
            parse_scope(self.scope)
        except TastevecError as exc:
            raise ConfigError(f"training.scope: {exc}") from None
        for name in ("lr", "head_lr"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"training.{name} must be > 0, got {getattr(self, name)}")
        if self.weight_decay < 0:
            raise ConfigError(f"training.weight_decay must be >= 0, got {self.weight_decay}")
        if self.epochs < 1 or (self.steps is not None and self.steps < 1):
            raise ConfigError("training.epochs and training.steps must be >= 1")
        if self.batch_size < 2:
            raise ConfigError(f"training.batch_size must be >= 2, got {self.batch_size}")
        if self.image_size is not None and not 32 <= self.image_size <= 1024:
            raise ConfigError(f"training.image_size {self.image_size} is outside 32..1024")
        if self.checkpoint_every < 1:
            raise ConfigError("training.checkpoint_every must be >= 1")
        if not 0 <= self.warmup_fraction < 1:
            raise ConfigError("training.warmup_fraction must be in [0, 1)")


@dataclass(frozen=True, slots=True)
class ForgeConfig:
    databases: tuple[DatabaseConfig, ...]
    backbone: BackboneSpec = field(default_factory=BackboneSpec)
    head: str = HeadKind.DISTRIBUTION.value
    head_seed: int = 0
    training: TrainingConfig = field(default_factory=TrainingConfig)
    encoding: str = "float16"

    def __post_init__(self) -> None:
        if not self.databases:
            raise ConfigError("the config names no database to forge")
        names = [db.name for db in self.databases]
        if len(set(names)) != len(names):
            raise ConfigError(f"databases: a database is listed twice ({', '.join(names)})")
        if self.head not in {k.value for k in HeadKind}:
            raise ConfigError(f"backbone.head: unknown head {self.head!r}")
        if self.training.loss == "emd" and self.head != HeadKind.DISTRIBUTION:
            raise ConfigError("training.loss 'emd' needs backbone.head = 'distribution'")
        try:
            parse_encoding(self.encoding)
        except TastevecError as exc:
            raise ConfigError(f"release.encoding: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the settings that decide the weights (for checkpoints)."""
        return {
            "backbone": {"name": self.backbone.name, "weights": self.backbone.weights},
            "head": self.head,
            "head_seed": self.head_seed,
            "training": {k: getattr(self.training, k) for k in TrainingConfig.__slots__},
        }


def load_forge_config(path: Path) -> ForgeConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read forge config {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return parse_forge_config(data, base_dir=path.parent)
    except TastevecError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_forge_config(data: Mapping[str, Any], *, base_dir: Path) -> ForgeConfig:
    _refuse_unknown(
        "", data, {"world", "world_databases", "databases", "backbone", "training", "release"}
    )
    databases = list(_world_databases(data, base_dir)) if "world" in data else []
    for i, entry in enumerate(data.get("databases", [])):
        _refuse_unknown(f"databases[{i}].", entry, {"name", "root", "options"})
        if "name" not in entry or "root" not in entry:
            raise ConfigError(f"databases[{i}] needs a name and a root")
        root = base_dir / str(entry["root"])
        databases.append(DatabaseConfig(str(entry["name"]), root, dict(entry.get("options", {}))))
    backbone = dict(data.get("backbone", {}))
    _refuse_unknown("backbone.", backbone, {"name", "weights", "head", "head_seed"})
    training = dict(data.get("training", {}))
    _refuse_unknown("training.", training, set(TrainingConfig.__slots__))
    for key, value in training.items():
        _check_type(f"training.{key}", value, _TRAINING_TYPES[key])
    release = dict(data.get("release", {}))
    _refuse_unknown("release.", release, {"encoding"})
    weights = str(backbone.get("weights", WEIGHTS_AUTO))
    if weights not in ("auto", "embedded", "hub", "random"):
        weights = str(base_dir / weights)
    try:
        return ForgeConfig(
            tuple(databases),
            BackboneSpec(str(backbone.get("name", DEFAULT_BACKBONE)), weights),
            str(backbone.get("head", HeadKind.DISTRIBUTION.value)),
            int(backbone.get("head_seed", 0)),
            TrainingConfig(**training),
            str(release.get("encoding", "float16")),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"a setting has the wrong type ({exc})") from exc


def _world_databases(data: Mapping[str, Any], base_dir: Path) -> list[DatabaseConfig]:
    """Every training database of a photo world (its `world.json`), in the paper's order."""
    world = base_dir / str(data["world"])
    try:
        manifest = json.loads((world / WORLD_FILE).read_text(encoding="utf-8"))
        entries = manifest["databases"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"world: {world} is not a photo world ({WORLD_FILE}: {exc})") from exc
    wanted = data.get("world_databases")
    chosen = [
        name
        for name in PAPER_ORDER + tuple(sorted(entries))
        if name in entries and entries[name].get("role") != TEST_ONLY_ROLE
    ]
    chosen = list(dict.fromkeys(chosen))
    if wanted is not None:
        unknown = sorted(set(wanted) - set(chosen))
        if unknown:
            raise ConfigError(f"world_databases: {unknown} are not training databases of {world}")
        chosen = [name for name in chosen if name in wanted]
    return [
        DatabaseConfig(
            entries[name]["loader"],
            world / entries[name]["path"],
            dict(entries[name].get("image_options") or {}),
        )
        for name in chosen
    ]


_NUMBER = (int, float)
_TRAINING_TYPES: dict[str, type | tuple[type, ...]] = {
    "loss": str,
    "lr": _NUMBER,
    "head_lr": _NUMBER,
    "weight_decay": _NUMBER,
    "epochs": int,
    "steps": int,
    "batch_size": int,
    "image_size": int,
    "whole_image": bool,
    "scope": str,
    "amp": bool,
    "seed": int,
    "checkpoint_every": int,
    "warmup_fraction": _NUMBER,
}


def _check_type(key: str, value: Any, expected: type | tuple[type, ...]) -> None:
    is_bool = isinstance(value, bool)
    if not isinstance(value, expected) or (is_bool and expected is not bool):
        raise ConfigError(f"{key} has the wrong type: {value!r}")


def _refuse_unknown(prefix: str, table: Mapping[str, Any], known: set[str]) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table")
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting {prefix}{unknown[0]} (known: {', '.join(sorted(known))})"
        )
