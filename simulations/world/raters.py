"""How opinions become ratings on each database's scale.

An opinion is in standard deviations of a utility (0 = an average image). Crowd raters add a
personal bias and noise to a database's notion; people rate from their own taste. The scale
maps then round and clip as the real rating interfaces do.
"""

from __future__ import annotations

import numpy as np

from tastevec.simulations.world.tastes import Person


def crowd_opinions(
    utility: np.ndarray, raters: int, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """(images, raters) opinions of anonymous crowd raters sharing one notion."""
    bias = rng.normal(0.0, 0.3, size=(1, raters))
    return utility[:, None] + bias + rng.normal(0.0, noise, size=(len(utility), raters))


def person_opinions(person: Person, utility: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A person's opinions of images whose utilities (to them) are `utility`, in rating points
    around the middle of a 1-5 scale."""
    noisy = utility + rng.normal(0.0, person.noise, size=utility.shape)
    return person.bias + person.scale * noisy


def five_point(opinions: np.ndarray) -> np.ndarray:
    """Integer 1-5 (absolute category rating)."""
    return np.clip(np.round(3.0 + 0.95 * opinions), 1, 5).astype(int)


def half_points(opinions: np.ndarray) -> np.ndarray:
    """1-5 in steps of 0.5 (PARA's slider)."""
    return np.clip(np.round((3.0 + 0.95 * opinions) * 2) / 2, 1.0, 5.0)


def ten_point(opinions: np.ndarray) -> np.ndarray:
    """Integer 1-10 votes (AVA-style contests cluster around 5.4)."""
    return np.clip(np.round(5.4 + 1.4 * opinions), 1, 10).astype(int)


def slider(opinions: np.ndarray) -> np.ndarray:
    """Continuous 0-100 (SPAQ's slider)."""
    return np.clip(50.0 + 18.0 * opinions, 0.0, 100.0)
