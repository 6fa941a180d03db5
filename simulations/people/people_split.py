"""Development and final test people of the photo world.

Methods are designed and tuned on development people; a report evaluates final people once.
Each test person falls on one side by a digest of their group and name, so the split does
not depend on the order people are listed in or on how many are drawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from tastevec.simulations.people.personalize_people import Person

PeopleSet = Literal["development", "final"]


def people_set(person: Person) -> PeopleSet:
    digest = hashlib.sha256(f"{person.group}/{person.name}".encode()).digest()
    return "development" if digest[0] % 2 == 0 else "final"


def split_people(people: Sequence[Person], which: PeopleSet) -> list[Person]:
    return [p for p in people if people_set(p) == which]
