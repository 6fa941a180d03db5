"""How many ratings a fit needs: a clear message instead of a meaningless fit."""

from __future__ import annotations

from collections.abc import Sequence

from tastevec.client.ratings_store import Rating
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import FitError

# Fewest ratings each layout is fitted from: a handful for one coefficient per task vector
# or per block, more once every tensor has its own.
MIN_RATINGS = {
    CoefficientLayout.GLOBAL: 5,
    CoefficientLayout.BLOCK: 5,
    CoefficientLayout.TENSOR: 10,
}


def check_ratings(ratings: Sequence[Rating], layout: CoefficientLayout, *, what: str) -> None:
    needed = MIN_RATINGS[layout]
    distinct = len({r.score for r in ratings})
    if len(ratings) < needed or distinct < 2:
        raise FitError(
            f"a {layout.value} fit needs at least {needed} {what} with at least 2 different "
            f"scores; you have {len(ratings)} with {distinct} different "
            "(rate more: tastevec-client rate)"
        )
