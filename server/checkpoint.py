"""Training checkpoints, so that an interrupted forge resumes where it stopped.

A checkpoint holds the tuned tensors, the optimiser and schedule state and the step, plus a
fingerprint of everything that decides the weights; a checkpoint from other settings is
refused rather than silently mixed in. Written atomically, read with `weights_only=True`
(no pickled code runs).
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tastevec.common.atomic_file import write_atomic
from tastevec.common.errors import TastevecError


class CheckpointError(TastevecError):
    """A checkpoint that cannot be read, or was written with other settings."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    fingerprint: str
    step: int
    tensors: dict[str, torch.Tensor]
    optimiser: dict[str, Any]
    schedule: dict[str, Any]


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    buffer = io.BytesIO()
    torch.save(
        {
            "fingerprint": checkpoint.fingerprint,
            "step": checkpoint.step,
            "tensors": {k: v.detach().cpu() for k, v in checkpoint.tensors.items()},
            "optimiser": checkpoint.optimiser,
            "schedule": checkpoint.schedule,
        },
        buffer,
    )
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, fingerprint: str) -> Checkpoint | None:
    """The checkpoint at `path`, None if there is none; refuses one made with other settings."""
    if not path.exists():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        checkpoint = Checkpoint(
            str(data["fingerprint"]),
            int(data["step"]),
            dict(data["tensors"]),
            dict(data["optimiser"]),
            dict(data["schedule"]),
        )
    except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        raise CheckpointError(f"checkpoint {path} cannot be read ({exc}); delete it") from None
    if checkpoint.fingerprint != fingerprint:
        raise CheckpointError(
            f"checkpoint {path} was written with other settings or data; delete it to start over"
        )
    return checkpoint
