"""The federation tests' standard set of simulated people: PEOPLE homes, the first ones
sharing (make_people, tests/conftest.py, makes any other set)."""

from collections.abc import Callable
from pathlib import Path

import pytest

PEOPLE = 4
SHARING = (0, 1, 2)  # person 3 keeps sharing off


@pytest.fixture
def federation(
    make_people: Callable[[str, int, tuple[int, ...]], tuple[Path, Path, str]],
) -> tuple[Path, Path, str]:
    """(releases folder, homes folder, the starting release id) for PEOPLE people."""
    return make_people("federation", PEOPLE, SHARING)
