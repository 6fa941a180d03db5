"""fine_tune on a tiny random-weight model: scope respected, BatchNorm frozen, deterministic."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from tastevec.common.backbone import BackboneSpec
from tastevec.common.datasets.records import ScoredImage
from tastevec.common.errors import TastevecError
from tastevec.common.score_model import ScoreModel, build_score_model
from tastevec.server.distributed import Distributed
from tastevec.server.fine_tune import fine_tune, plan_steps
from tastevec.server.forge_config import TrainingConfig


def images(folder: Path) -> list[ScoredImage]:
    items = []
    for i in range(12):
        path = folder / f"{i}.png"
        Image.new("RGB", (48, 36), (20 * i, 255 - 20 * i, 90)).save(path)
        items.append(ScoredImage(path, i / 11, float(i)))
    return items


def model() -> ScoreModel:
    torch.manual_seed(0)  # random backbone weights: the same ones every time
    built = build_score_model(BackboneSpec(weights="random"), "scalar", head_seed=0)
    built.preprocessing = built.preprocessing.with_size(32)
    return built


def run(tmp_path: Path, name: str, **settings: object) -> tuple[ScoreModel, dict]:
    config = TrainingConfig(**{"steps": 3, "batch_size": 4, "loss": "mse", **settings})  # type: ignore[arg-type]
    tuned = model()
    result = fine_tune(
        tuned,
        images(tmp_path),
        config,
        label="db",
        fingerprint="f" * 64,
        checkpoint_path=tmp_path / f"{name}.pt",
        distributed=Distributed(),
        show_progress=False,
    )
    return tuned, {"tuned": result.tuned, **result.summary}


def test_plan_steps_counts_whole_batches_and_refuses_too_few_images() -> None:
    assert plan_steps(TrainingConfig(epochs=2, batch_size=4), 10) == (2, 4)
    assert plan_steps(TrainingConfig(steps=7, batch_size=4), 10) == (2, 7)
    with pytest.raises(TastevecError, match="fewer than one batch of 32"):
        plan_steps(TrainingConfig(batch_size=32), 10)


def test_only_the_scope_changes_and_batchnorm_statistics_stay(tmp_path: Path) -> None:
    base = model().state_dict()
    tuned, summary = run(tmp_path, "head", scope="head")
    after = tuned.state_dict()
    changed = {k for k in base if not torch.equal(base[k], after[k])}
    assert changed and all(k.startswith("head.") for k in changed)
    assert set(summary["tuned"]) == {"head.fc.weight", "head.fc.bias"}
    full, everything = run(tmp_path, "all", scope="all")
    statistics = [name for name in base if "running_" in name]
    assert statistics
    assert all(torch.equal(full.state_dict()[name], base[name]) for name in statistics)
    assert any(k.startswith("backbone.") for k in everything["tuned"])
    assert any(not torch.equal(full.state_dict()[k], base[k]) for k in everything["tuned"])


def test_the_same_seed_gives_the_same_weights_and_another_does_not(tmp_path: Path) -> None:
    _, first = run(tmp_path, "a", seed=1)
    _, again = run(tmp_path, "b", seed=1)
    _, other = run(tmp_path, "c", seed=2)
    assert all(torch.equal(first["tuned"][k], again["tuned"][k]) for k in first["tuned"])
    assert not all(torch.equal(first["tuned"][k], other["tuned"][k]) for k in first["tuned"])
    assert first["steps"] == 3 and first["resumed_from_step"] == 0


def test_a_global_batch_must_split_over_the_processes() -> None:
    with pytest.raises(TastevecError, match="does not split evenly over 3"):
        Distributed(rank=0, world_size=3).shard(8)
    assert Distributed(rank=1, world_size=2).shard(8) == 4
