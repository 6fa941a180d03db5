"""How big a photo world is: `small` builds in seconds for tests, `standard` is the benchmark,
`population` is the standard world with 100 training people per personal database (200 in
all, for the federation report's cohorts), each rating 100 photos."""

from __future__ import annotations

from dataclasses import dataclass

from tastevec.common.errors import TastevecError


@dataclass(frozen=True, slots=True)
class WorldSize:
    name: str
    train_images: int  # rendered from the training-domain photos
    held_out_images: int  # rendered from the held-out photos
    crowd_database_images: int  # per crowd-rated database (KonIQ-, SPAQ-, AVA-, TAD66K-like)
    personal_train_people: int  # per personal database (FLICKR-AES-, PARA-like)
    personal_test_people: int
    personal_train_images: int
    personal_test_images: int
    raters_per_personal_image: int
    test_people: int  # REAL-CUR-like people, rating the held-out domain only
    test_person_images: int
    aadb_raters: int = 5

    @property
    def people(self) -> int:
        return 2 * (self.personal_train_people + self.personal_test_people) + self.test_people


SIZES = {
    "small": WorldSize("small", 150, 50, 80, 6, 2, 72, 24, 3, 4, 30),
    "standard": WorldSize("standard", 2400, 400, 1000, 80, 20, 1000, 250, 10, 40, 150),
    "population": WorldSize("population", 2400, 400, 1000, 100, 20, 1000, 250, 10, 40, 150),
}


def world_size(name: str) -> WorldSize:
    try:
        return SIZES[name]
    except KeyError:
        raise TastevecError(f"unknown world size {name!r} (sizes: {', '.join(SIZES)})") from None
