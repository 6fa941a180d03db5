"""Every database tastevec reads, by name, with one way in to load each view."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

from tastevec.common.datasets import (
    aadb,
    ava,
    flickr_aes,
    kadid10k,
    koniq10k,
    live_itw,
    para,
    real_cur,
    spaq,
    tad66k,
)
from tastevec.common.datasets.records import DatabaseInfo, ImageScores, PeopleRatings
from tastevec.common.errors import DatasetError

_MODULES: dict[str, ModuleType] = {
    module.INFO.name: module
    for module in (koniq10k, spaq, kadid10k, live_itw, ava, tad66k, aadb, flickr_aes, para,
                   real_cur)
}  # fmt: skip
DATABASES: dict[str, DatabaseInfo] = {name: m.INFO for name, m in _MODULES.items()}


def _module(name: str) -> ModuleType:
    try:
        return _MODULES[name]
    except KeyError:
        known = ", ".join(DATABASES)
        raise DatasetError(f"unknown database {name!r} (known: {known})") from None


def load_image_scores(name: str, root: Path, **options: Any) -> ImageScores:
    """Database `name` at `root` as (image, score) per split; `options` go to its loader."""
    module = _module(name)
    if not hasattr(module, "load_image_scores"):
        raise DatasetError(f"{DATABASES[name].title} has per-person ratings only")
    return _call(module.load_image_scores, name, root, options)


def load_people_ratings(name: str, root: Path, **options: Any) -> PeopleRatings:
    """Database `name` at `root` as each person's ratings per split."""
    module = _module(name)
    if not DATABASES[name].has_people:
        raise DatasetError(f"{DATABASES[name].title} has no per-person ratings")
    return _call(module.load_people_ratings, name, root, options)


def _call(loader: Any, name: str, root: Path, options: dict[str, Any]) -> Any:
    accepted = [p for p in inspect.signature(loader).parameters if p != "root"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise DatasetError(
            f"{name} loader takes no option {', '.join(unknown)} (options: {', '.join(accepted)})"
        )
    return loader(Path(root), **options)
