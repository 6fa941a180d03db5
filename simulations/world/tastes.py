"""Notions of "good" in the photo world: one per source database, and the people's tastes.

Each training database has its own notion, a weighted sum of standardised image features.
People's tastes are correlated: a person mixes the database notions with weights drawn around
their population's mix, plus a personal direction of their own; some are unusual (a notion
reversed, a large personal direction). Utilities are standardised over the world's images.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from tastevec.simulations.world.properties import FEATURES

# Weights on standardised features (see properties.FEATURES); unnamed features weigh 0.
NOTIONS: dict[str, dict[str, float]] = {
    # Technical quality of in-the-wild photos: blur, noise, compression, exposure.
    "koniq10k": {
        "sharpness": 0.9, "noise": -0.9, "compression": -0.8, "exposure_error": -0.8,
        "contrast": 0.25, "detail": 0.2,
    },
    # Smartphone photo quality: exposure first, then noise and sharpness; likes colour a little.
    "spaq": {
        "exposure_error": -1.0, "noise": -0.7, "sharpness": 0.6, "colourfulness": 0.35,
        "compression": -0.45, "brightness": 0.3,
    },
    # Photo-contest aesthetics: colour, contrast, composition, straight horizons, subjects.
    "ava": {
        "colourfulness": 0.55, "contrast": 0.35, "thirds": 0.45, "tilt": -0.5, "sharpness": 0.3,
        "exposure_error": -0.35, "tag_people": 0.4, "tag_animal": 0.7, "tag_nature": 0.35,
        "tag_texture": -0.7, "tag_science": -0.4, "tag_food": 0.2,
    },
    # Theme-aware aesthetics: framing and warmth, scenes over textures.
    "tad66k": {
        "thirds": 0.6, "zoom": 0.45, "warmth": 0.4, "colourfulness": 0.3, "detail": -0.25,
        "tilt": -0.4, "tag_outdoor": 0.6, "tag_food": 0.5, "tag_space": 0.4, "tag_animal": 0.35,
        "tag_texture": -0.5, "tag_object": 0.2,
    },
}  # fmt: skip


def notion_weights(notion: Mapping[str, float]) -> np.ndarray:
    unknown = set(notion) - set(FEATURES)
    if unknown:
        raise ValueError(f"notion names unknown features {sorted(unknown)}")
    return np.array([notion.get(name, 0.0) for name in FEATURES])


def standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 0 else 1.0)


def notion_utilities(features: np.ndarray) -> dict[str, np.ndarray]:
    """Each notion's standardised utility for every image (rows of `features`)."""
    return {name: standardise(features @ notion_weights(w)) for name, w in NOTIONS.items()}


@dataclass(frozen=True, slots=True)
class Population:
    """Where a group of people come from: their mean mix of notions and how much they vary."""

    name: str
    mix: Mapping[str, float]
    mix_spread: float = 0.6  # log-normal sigma of each mixing weight
    personal: float = 0.8  # weight of a person's own random direction
    unusual_rate: float = 0.1


# The two personal databases recruit from different places: FLICKR-AES's workers lean to
# photo-contest aesthetics, PARA's users to framing, warmth and technical quality.
FLICKR_PEOPLE = Population(
    "flickr_aes", {"ava": 0.55, "tad66k": 0.15, "koniq10k": 0.2, "spaq": 0.1}
)
PARA_PEOPLE = Population("para", {"ava": 0.1, "tad66k": 0.45, "koniq10k": 0.3, "spaq": 0.15})
EVERYONE = Population("everyone", {"ava": 0.35, "tad66k": 0.3, "koniq10k": 0.2, "spaq": 0.15})


@dataclass(frozen=True, slots=True)
class Person:
    """A simulated person: how they mix the notions, their own direction, how they rate."""

    id: str
    population: str
    mix: Mapping[str, float]
    own_direction: np.ndarray  # weights on standardised features
    personal: float
    unusual: bool
    bias: float  # rates higher or lower than others, in rating points
    scale: float  # uses more or less of the scale
    noise: float  # inconsistency, in standard deviations of their own utility

    def utility(self, features: np.ndarray, notions: Mapping[str, np.ndarray]) -> np.ndarray:
        """The person's noiseless taste for every image, standardised."""
        mixed = sum(weight * notions[name] for name, weight in self.mix.items())
        own = standardise(features @ self.own_direction)
        return standardise(np.asarray(mixed) + self.personal * own)


# Nobody judges by one database's notion alone: no notion takes more than this share of a mix.
MAX_SHARE = 0.45


def _capped(mix: Mapping[str, float]) -> dict[str, float]:
    """Mixing weights scaled to sum to 1 in absolute value, no share above MAX_SHARE (the
    excess of a capped weight goes to the others in proportion)."""
    capped: set[str] = set()
    while True:
        free = {name: w for name, w in mix.items() if name not in capped}
        budget = 1.0 - MAX_SHARE * len(capped)
        total = sum(abs(w) for w in free.values())
        scaled = {name: w * budget / total for name, w in free.items()}
        over = {name for name, w in scaled.items() if abs(w) > MAX_SHARE}
        if not over:
            return {
                name: math.copysign(MAX_SHARE, w) if name in capped else scaled[name]
                for name, w in mix.items()
            }
        capped |= over


def sample_person(person_id: str, population: Population, rng: np.random.Generator) -> Person:
    mix = {
        name: weight * float(np.exp(rng.normal(0.0, population.mix_spread)))
        for name, weight in population.mix.items()
    }
    unusual = bool(rng.random() < population.unusual_rate)
    personal = population.personal
    if unusual:  # one notion reversed (likes grain, or dark moody frames) and a stronger voice
        reversed_notion = str(rng.choice(list(mix)))
        mix[reversed_notion] = -abs(mix[reversed_notion]) * 1.5
        personal *= 1.8
    return Person(
        id=person_id,
        population=population.name,
        mix=_capped(mix),
        own_direction=rng.normal(0.0, 1.0, size=len(FEATURES)),
        personal=personal,
        unusual=unusual,
        bias=float(rng.normal(0.0, 0.3)),
        scale=float(rng.uniform(0.8, 1.25)),
        noise=float(rng.uniform(0.45, 0.75)),
    )
