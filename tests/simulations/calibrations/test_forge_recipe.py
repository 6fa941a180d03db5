"""`tastevec-sim bench forge-recipe` on the small world: two releases forged two ways, each
vector's own test and the development people's personalization, the releases on the same
supports, and the verdict from the intervals."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tastevec.simulations.cli import main as sim_main
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people


@pytest.fixture(scope="module")
def longer_release(
    forge_briefly: Callable[[Path, str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The test release's recipe, trained longer at a higher backbone learning rate."""
    return forge_briefly(tmp_path_factory.mktemp("forge-longer"), "steps = 8\nlr = 3e-4\n")


@pytest.mark.slow
def test_both_recipes_are_judged_on_the_same_development_people(
    world: Path, release: Path, longer_release: Path, trust: Path, tmp_path: Path
) -> None:
    out = tmp_path / "recipe.md"
    args = ["bench", "forge-recipe", "--world", str(world), "--trust", str(trust)]
    args += ["--baseline", str(release), "--candidate", str(longer_release)]
    assert sim_main([*args, "--draws", "1", "--out", str(out)]) == 0
    report = out.read_text()
    development = split_people(load_people(world, TEST_GROUPS, None), "development")
    assert f"{len(development)} **development** test people only" in report
    assert re.search(r"\| candidate recipe \| `r-[0-9a-f]+` \| [^|]*steps 8, lr 0.0003,", report)
    manifest = json.loads((longer_release / "manifest.json").read_text())
    for vector in manifest["task_vectors"]:  # each vector's own test, as the forge measured it
        assert re.search(
            rf"^\| {vector['source']} \| \S+ \| {vector['metrics']['srocc']:.3f} \|", report, re.M
        )
    personalization = report[report.index("## Personalization") :]
    row = re.search(r"^\| candidate recipe \| (.+) \|$", personalization, re.M)
    assert row is not None
    gains = re.findall(r"\(([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]\)", row.group(1))
    assert len(gains) == 2  # 5 and 10 shots: a small-world person has 24 images
    assert all(float(low) <= float(gain) <= float(high) for gain, low, high in gains)
    assert "Verdict (interval above / below zero): the candidate helps at" in report
