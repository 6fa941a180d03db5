"""Simulated devices share the running of each distinct photo: every home afterwards holds
the values its device would have computed, so its fit runs no photo and fits the same."""

import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.simulations.federation.shared_image_values import share_image_values


def test_shared_values_are_what_each_device_computes_for_itself(
    make_people: Callable[[str, int, tuple[int, ...]], tuple[Path, Path, str]], tmp_path: Path
) -> None:
    _, homes, release_id = make_people("shared", 3, ())
    alone = tmp_path / "alone"
    shutil.copytree(homes, alone)
    shared = share_image_values([homes / f"person-{i}" for i in range(3)])
    assert 0 < shared.photos <= shared.ratings
    for index in range(3):
        seeded, own = Home(homes / f"person-{index}"), Home(alone / f"person-{index}")
        for home in (seeded, own):
            assert client_main(["fit", "--home", str(home.root)]) == 0
        with_shared = load_profile(seeded.profiles, release_id)
        by_itself = load_profile(own.profiles, release_id)
        assert with_shared.summary["images_run"] == 0
        assert by_itself.summary["images_run"] == by_itself.ratings > 0
        assert torch.allclose(
            with_shared.coefficient_matrix(), by_itself.coefficient_matrix(), atol=1e-5
        )
