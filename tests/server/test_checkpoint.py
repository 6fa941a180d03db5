"""Checkpoints: round trip, and refusal of other settings or a damaged file."""

from pathlib import Path

import pytest
import torch

from tastevec.server.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint


def checkpoint() -> Checkpoint:
    parameter = torch.nn.Parameter(torch.randn(4))
    optimiser = torch.optim.AdamW([parameter], lr=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 0.5)
    parameter.sum().backward()
    optimiser.step()
    schedule.step()
    return Checkpoint(
        "f" * 64, 7, {"w": parameter.detach()}, optimiser.state_dict(), schedule.state_dict()
    )


def test_round_trip(tmp_path: Path) -> None:
    original = checkpoint()
    save_checkpoint(tmp_path / "c.pt", original)
    back = load_checkpoint(tmp_path / "c.pt", "f" * 64)
    assert back is not None and back.step == 7
    assert torch.equal(back.tensors["w"], original.tensors["w"])
    state = back.optimiser["state"][0]
    assert torch.equal(state["exp_avg"], original.optimiser["state"][0]["exp_avg"])
    assert back.schedule["last_epoch"] == original.schedule["last_epoch"]


def test_missing_checkpoint_is_none(tmp_path: Path) -> None:
    assert load_checkpoint(tmp_path / "none.pt", "f" * 64) is None


def test_checkpoint_from_other_settings_is_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c.pt", checkpoint())
    with pytest.raises(CheckpointError, match="other settings"):
        load_checkpoint(tmp_path / "c.pt", "0" * 64)


def test_damaged_checkpoint_is_refused(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "c.pt", checkpoint())
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"c\.pt cannot be read"):
        load_checkpoint(tmp_path / "c.pt", "f" * 64)
