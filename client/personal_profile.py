"""A person's profile: the coefficients fitted to their ratings, for one release, and from
enough ratings a correction on the merged model's features (see feature_correction.py).

Stored as JSON in HOME/profiles/<release id>.json, written atomically. A profile fits only
the release it was fitted for; after pulling a new release, fit again.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import ProfileError
from tastevec.common.os_inputs import PRIVATE_FILE_MODE, make_private_dir, read_regular_file

if TYPE_CHECKING:  # torch loads only where a model runs (status reads profiles too)
    import torch

PROFILE_FORMAT = "tastevec-profile/1"
PROFILE_LIMIT = 16 * 2**20  # largest profile read; a tensor-layout one is ~100 kB


@dataclass(frozen=True, slots=True)
class Profile:
    release_id: str
    mode: str
    layout: str
    sources: tuple[str, ...]
    groups: tuple[str, ...]
    coefficients: tuple[tuple[float, ...], ...]  # [groups][task vectors]
    fitted_at: str
    ratings: int
    summary: dict[str, Any] = field(default_factory=dict)
    correction: tuple[float, ...] | None = None  # weights on the merged model's features
    correction_bias: float = 0.0
    fit_config: dict[str, Any] = field(default_factory=dict)  # client/fit_config.FitConfig's

    def __post_init__(self) -> None:
        if len(self.coefficients) != len(self.groups) or any(
            len(row) != len(self.sources) for row in self.coefficients
        ):
            raise ProfileError(
                f"profile for release {self.release_id}: coefficients are not "
                f"{len(self.groups)} x {len(self.sources)}"
            )
        if not all(math.isfinite(v) for row in self.coefficients for v in row):
            raise ProfileError(f"profile for release {self.release_id}: non-finite coefficient")
        correction = (*(self.correction or ()), self.correction_bias)
        if not all(math.isfinite(v) for v in correction):
            raise ProfileError(f"profile for release {self.release_id}: non-finite correction")

    def coefficient_matrix(self) -> torch.Tensor:
        import torch

        return torch.tensor(self.coefficients, dtype=torch.float32)

    def to_bytes(self) -> bytes:
        document = {"format": PROFILE_FORMAT, **asdict(self)}
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def profile_path(folder: Path, release_id: str) -> Path:
    return folder / f"{release_id}.json"


def save_profile(folder: Path, profile: Profile) -> Path:
    """Write `profile` atomically into `folder` (made private, 0700), the file 0600."""
    make_private_dir(folder, error=ProfileError, what="profiles folder")
    path = profile_path(folder, profile.release_id)
    write_atomic(path, profile.to_bytes(), mode=PRIVATE_FILE_MODE)
    return path


def load_profile(folder: Path, release_id: str) -> Profile:
    """The profile fitted for `release_id`; says so when only other releases have one."""
    path = profile_path(folder, release_id)
    if not path.exists() and not path.is_symlink():
        others = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        if others:
            raise ProfileError(
                f"your profile was fitted for release {others[-1]}, not the current release "
                f"{release_id}; run: tastevec-client fit"
            )
        raise ProfileError(f"no profile in {folder}; rate some images, then: tastevec-client fit")
    data = read_regular_file(path, limit=PROFILE_LIMIT, what="profile", error=ProfileError)
    try:
        document = json.loads(data.decode("utf-8"))
        if document.pop("format") != PROFILE_FORMAT:
            raise ValueError("unknown format")
        profile = Profile(
            release_id=str(document["release_id"]),
            mode=str(document["mode"]),
            layout=str(document["layout"]),
            sources=tuple(document["sources"]),
            groups=tuple(document["groups"]),
            coefficients=tuple(tuple(float(v) for v in row) for row in document["coefficients"]),
            fitted_at=str(document["fitted_at"]),
            ratings=int(document["ratings"]),
            summary=dict(document.get("summary", {})),
            correction=(
                None
                if document.get("correction") is None
                else tuple(float(v) for v in document["correction"])
            ),
            correction_bias=float(document.get("correction_bias", 0.0)),
            fit_config=dict(document.get("fit_config", {})),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(
            f"profile {path} is unreadable: {exc}; run: tastevec-client fit"
        ) from None
    if profile.release_id != release_id:
        raise ProfileError(
            f"profile {path} was fitted for release {profile.release_id}, not {release_id}"
        )
    return profile
