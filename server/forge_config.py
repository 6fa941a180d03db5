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
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from tastevec.common.backbone import DEFAULT_BACKBONE, WEIGHTS_AUTO, BackboneSpec
from tastevec.common.datasets.catalog import DATABASES
from tastevec.common.errors import TastevecError
from tastevec.common.os_inputs import read_regular_file
from tastevec.common.score_head import HeadKind
from tastevec.common.task_vector_encoding import parse_encoding
from tastevec.server.losses import LOSSES
from tastevec.server.parameter_scope import parse_scope

# The paper's order of task vectors (AVA, FLICKR-AES, TAD66K, PARA, KonIQ-10k, SPAQ); a photo
# world's training databases are forged in this order.
PAPER_ORDER = ("ava", "flickr_aes", "tad66k", "para", "koniq10k", "spaq")
WORLD_FILE = "world.json"
TEST_ONLY_ROLE = "test-only"


# Largest forge.toml or world.json read (both are a few kilobytes).
CONFIG_LIMIT = 4 * 2**20
_T = TypeVar("_T")


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
        for name in ("lr", "head_lr", "weight_decay", "warmup_fraction"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(
                    f"training.{name} must be a finite number, got {getattr(self, name)}"
                )
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
    data = read_regular_file(path, limit=CONFIG_LIMIT, what="forge config", error=ConfigError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: forge config is not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return parse_forge_config(document, base_dir=path.parent)
    except TastevecError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def parse_forge_config(data: Mapping[str, Any], *, base_dir: Path) -> ForgeConfig:
    _refuse_unknown(
        "", data, {"world", "world_databases", "databases", "backbone", "training", "release"}
    )
    databases = list(_world_databases(data, base_dir)) if "world" in data else []
    entries = data.get("databases", [])
    if not isinstance(entries, list):
        raise ConfigError(f"databases must be an array of tables, not {_kind(entries)}")
    for i, entry in enumerate(entries):
        where = f"databases[{i}]"
        _refuse_unknown(f"{where}.", entry, {"name", "root", "options"})
        if "name" not in entry or "root" not in entry:
            raise ConfigError(f"{where} needs a name and a root")
        name = _typed(f"{where}.name", entry["name"], str)
        root = base_dir / _typed(f"{where}.root", entry["root"], str)
        options = _table(f"{where}.options", entry.get("options", {}))
        databases.append(DatabaseConfig(name, root, options))
    backbone = _table("backbone", data.get("backbone", {}))
    _refuse_unknown("backbone.", backbone, {"name", "weights", "head", "head_seed"})
    training = _table("training", data.get("training", {}))
    _refuse_unknown("training.", training, set(TrainingConfig.__slots__))
    for key, value in training.items():
        _check_type(f"training.{key}", value, _TRAINING_TYPES[key])
    release = _table("release", data.get("release", {}))
    _refuse_unknown("release.", release, {"encoding"})
    weights = _typed("backbone.weights", backbone.get("weights", WEIGHTS_AUTO), str)
    if weights not in ("auto", "embedded", "hub", "random"):
        weights = str(base_dir / weights)
    return ForgeConfig(
        tuple(databases),
        BackboneSpec(_typed("backbone.name", backbone.get("name", DEFAULT_BACKBONE), str), weights),
        _typed("backbone.head", backbone.get("head", HeadKind.DISTRIBUTION.value), str),
        _typed("backbone.head_seed", backbone.get("head_seed", 0), int),
        TrainingConfig(**training),
        _typed("release.encoding", release.get("encoding", "float16"), str),
    )


def _world_databases(data: Mapping[str, Any], base_dir: Path) -> list[DatabaseConfig]:
    """Every training database of a photo world (its `world.json`), in the paper's order."""
    world = base_dir / _typed("world", data["world"], str)
    listed = world / WORLD_FILE
    try:
        raw = read_regular_file(listed, limit=CONFIG_LIMIT, what="world file", error=ConfigError)
    except ConfigError as exc:
        raise ConfigError(f"world: {world} is not a photo world ({exc})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"world: {listed} is not a photo world's JSON ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("databases"), dict):
        raise ConfigError(f"world: {listed} has no 'databases' object; not a photo world")
    entries: dict[str, _WorldEntry] = {
        name: _world_entry(listed, name, entry) for name, entry in manifest["databases"].items()
    }
    wanted = data.get("world_databases")
    chosen = [
        name
        for name in PAPER_ORDER + tuple(sorted(entries))
        if name in entries and entries[name].role != TEST_ONLY_ROLE
    ]
    chosen = list(dict.fromkeys(chosen))
    if wanted is not None:
        if not isinstance(wanted, list) or not all(isinstance(n, str) for n in wanted):
            raise ConfigError(f"world_databases must be an array of names, not {wanted!r}")
        unknown = sorted(set(wanted) - set(chosen))
        if unknown:
            raise ConfigError(f"world_databases: {unknown} are not training databases of {world}")
        chosen = [name for name in chosen if name in wanted]
    return [
        DatabaseConfig(entries[name].loader, world / entries[name].path, entries[name].options)
        for name in chosen
    ]


@dataclass(frozen=True, slots=True)
class _WorldEntry:
    loader: str
    path: str
    role: str | None
    options: dict[str, Any]


def _world_entry(listed: Path, name: str, entry: object) -> _WorldEntry:
    where = f"{listed}: databases.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object, not {_kind(entry)}")
    for key in ("loader", "path"):
        if not isinstance(entry.get(key), str):
            raise ConfigError(f"{where} needs a '{key}' string")
    role = entry.get("role")
    if role is not None and not isinstance(role, str):
        raise ConfigError(f"{where}.role must be a string")
    options = entry.get("image_options") or {}
    if not isinstance(options, dict):
        raise ConfigError(f"{where}.image_options must be an object, not {_kind(options)}")
    return _WorldEntry(entry["loader"], entry["path"], role, options)


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


def _typed(key: str, value: Any, expected: type[_T]) -> _T:
    _check_type(key, value, expected)
    return cast(_T, value)


def _table(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be a table, not {_kind(value)} ({value!r})")
    return dict(value)


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names |= {list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _refuse_unknown(prefix: str, table: Mapping[str, Any], known: set[str]) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table")
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting {prefix}{unknown[0]} (known: {', '.join(sorted(known))})"
        )
