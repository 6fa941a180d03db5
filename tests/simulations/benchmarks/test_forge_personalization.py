"""The forge benchmark's personalization sweep fits as the device does: the feature correction
joins from FitConfig.correct_from_ratings ratings on; below it the coefficients alone score."""

from pathlib import Path

import pytest

from tastevec.client.fit_config import FitConfig
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.benchmarks.forge_personalization import (
    PersonalizationSettings,
    personalization_srocc,
)
from tastevec.simulations.people import personalize_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people


def test_the_sweep_corrects_from_the_devices_threshold_on(
    world: Path, release: Path, trust: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    people = load_people(world, TEST_GROUPS, 1)
    settings = PersonalizationSettings(shots=(10, 20), draws=2)
    # the small world's people have 30 ratings: the correction starts at 20 here
    monkeypatch.setattr(personalize_people, "FIT_CONFIG", FitConfig(correct_from_ratings=20))
    corrected = personalization_srocc(base, vectors, people, settings)
    monkeypatch.setattr(personalize_people, "FIT_CONFIG", FitConfig(correct_from_ratings=1000))
    coefficients_only = personalization_srocc(base, vectors, people, settings)
    assert len(corrected[10]) == 2 * len(people) and corrected[20]  # 20 + 5 ratings: fewer
    assert corrected[10] == coefficients_only[10]
    assert all(a != b for a, b in zip(corrected[20], coefficients_only[20], strict=True))
