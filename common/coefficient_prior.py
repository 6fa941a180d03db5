"""A population prior over coefficients: per-coefficient mean and variance, in one layout.

The server publishes it inside a release (as the aggregate of people's coefficients); a
device starts its fit from the mean and is pulled toward it, most when it has few ratings.
Stored as safetensors (`mean`, `variance`: [groups, task vectors]) with the layout and the
number of people in its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from tastevec.common.coefficients import CoefficientLayout, parse_layout
from tastevec.common.errors import ReleaseError
from tastevec.common.safetensors_bytes import read_metadata, save_canonical

PRIOR_FORMAT = "tastevec-coefficient-prior/1"


@dataclass(frozen=True, slots=True)
class CoefficientPrior:
    layout: CoefficientLayout
    mean: torch.Tensor  # [groups, K]
    variance: torch.Tensor  # [groups, K], > 0
    people: int = 0

    def __post_init__(self) -> None:
        if self.mean.shape != self.variance.shape or self.mean.ndim != 2:
            raise ReleaseError(
                f"prior mean {tuple(self.mean.shape)} and variance "
                f"{tuple(self.variance.shape)} must be the same [groups, task vectors] shape"
            )
        if not bool(torch.isfinite(self.mean).all()) or not bool((self.variance > 0).all()):
            raise ReleaseError("a prior needs finite means and positive variances")

    def to_bytes(self) -> bytes:
        metadata = {"format": PRIOR_FORMAT, "layout": self.layout.value, "people": str(self.people)}
        tensors = {
            "mean": self.mean.to(torch.float32).contiguous(),
            "variance": self.variance.to(torch.float32).contiguous(),
        }
        return save_canonical(tensors, metadata)

    @classmethod
    def from_bytes(cls, data: bytes, *, origin: str) -> CoefficientPrior:
        try:
            tensors = load_safetensors(data)
            metadata = read_metadata(data)
            if metadata.get("format") != PRIOR_FORMAT:
                raise ValueError(f"format {metadata.get('format')!r} is not {PRIOR_FORMAT!r}")
            return cls(
                parse_layout(metadata["layout"]),
                tensors["mean"],
                tensors["variance"],
                int(metadata.get("people", "0")),
            )
        except (SafetensorError, ValueError, KeyError) as exc:
            raise ReleaseError(f"{origin}: not a coefficient prior ({exc})") from None


VARIANCE_FLOOR = 1e-4  # the smallest spread a prior states: no coefficient is pinned exactly


@dataclass(frozen=True, slots=True)
class CoefficientSums:
    """What a population prior is made of, and all a server needs to learn: the number of
    people, the sum of their coefficients and the sum of their squares ([groups, K] each).
    Sums add, so a cohort's can be formed by secure aggregation without anyone seeing one
    person's coefficients."""

    layout: CoefficientLayout
    people: int
    total: torch.Tensor  # [groups, K], float64
    squares: torch.Tensor  # [groups, K], float64

    def __post_init__(self) -> None:
        if self.total.shape != self.squares.shape or self.total.ndim != 2:
            raise ReleaseError(
                f"coefficient sums {tuple(self.total.shape)} and squares "
                f"{tuple(self.squares.shape)} must be the same [groups, task vectors] shape"
            )
        if self.people < 0:
            raise ReleaseError(f"coefficient sums over {self.people} people")

    @classmethod
    def of(cls, layout: CoefficientLayout, coefficients: torch.Tensor) -> CoefficientSums:
        """The sums of people's `coefficients` [people, groups, K]."""
        fits = coefficients.to(torch.float64)
        return cls(layout, len(fits), fits.sum(0), (fits * fits).sum(0))

    def __add__(self, other: CoefficientSums) -> CoefficientSums:
        if other.layout is not self.layout or other.total.shape != self.total.shape:
            raise ReleaseError("coefficient sums of different layouts or shapes do not add")
        return CoefficientSums(
            self.layout,
            self.people + other.people,
            self.total + other.total,
            self.squares + other.squares,
        )


def population_prior(sums: CoefficientSums, *, floor: float = VARIANCE_FLOOR) -> CoefficientPrior:
    """The prior from a population's sums: each coefficient's mean and its sample variance
    (n - 1 in the denominator), floored at `floor`; it needs two people or more."""
    n = sums.people
    if n < 2:
        raise ReleaseError(f"a population prior needs at least 2 people, not {n}")
    mean = sums.total / n
    variance = (sums.squares - n * mean * mean) / (n - 1)
    return CoefficientPrior(
        sums.layout,
        mean.to(torch.float32),
        variance.clamp_min(floor).to(torch.float32),
        n,
    )
