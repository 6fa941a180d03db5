"""A release's model: the base score model and task vectors rebuilt from its blobs.

Call after `verify_release`; every blob is re-checked against its digest as it is read.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.errors import ReleaseError
from tastevec.common.preprocessing import Preprocessing
from tastevec.common.release import read_blob
from tastevec.common.release_manifest import Manifest
from tastevec.common.score_head import create_head
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

WEIGHTS_FORMAT = "tastevec-weights/1"


def load_release_model(root: Path, manifest: Manifest) -> ScoreModel:
    """The base model of the release (backbone weights + head initialisation), in eval mode."""
    entry = manifest.backbone
    try:
        backbone = timm.create_model(entry.architecture, pretrained=False, num_classes=0)
    except (RuntimeError, ValueError) as exc:
        raise ReleaseError(
            f"release {manifest.release_id}: cannot build backbone {entry.architecture!r}: {exc}"
        ) from None
    head = create_head(entry.head_kind, int(backbone.num_features))  # type: ignore[arg-type]
    model = ScoreModel(backbone, head, Preprocessing.from_dict(entry.preprocessing))
    state = {
        **_read_weights(root, manifest, "backbone"),
        **_read_weights(root, manifest, "head"),
    }
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ReleaseError(
            f"release {manifest.release_id}: weights do not fit {entry.architecture}: {first}"
        ) from None
    return model.eval()


def load_release_task_vectors(root: Path, manifest: Manifest) -> list[TaskVector]:
    """Every task vector of the release, in manifest order, decoded to dense tensors."""
    vectors = []
    for entry in manifest.task_vectors:
        what = f"task vector {entry.source!r}"
        data = read_blob(root, entry.blob, what=what)
        vectors.append(TaskVector.from_bytes(data, origin=f"release {manifest.release_id} {what}"))
    return vectors


def load_release_prior(root: Path, manifest: Manifest, layout: str) -> CoefficientPrior | None:
    """The release's population prior for `layout`, if it ships one."""
    entry = manifest.prior(layout)
    if entry is None:
        return None
    what = f"release {manifest.release_id} {layout} prior"
    prior = CoefficientPrior.from_bytes(read_blob(root, entry.blob, what=what), origin=what)
    if prior.layout.value != layout:
        raise ReleaseError(f"{what}: the blob holds a {prior.layout.value} prior")
    return prior


def _read_weights(root: Path, manifest: Manifest, part: str) -> dict[str, torch.Tensor]:
    ref = manifest.backbone.weights if part == "backbone" else manifest.backbone.head
    data = read_blob(root, ref, what=f"{part} weights")
    try:
        tensors = load_safetensors(data)
    except (SafetensorError, ValueError) as exc:
        raise ReleaseError(
            f"release {manifest.release_id}: {part} weights unreadable: {exc}"
        ) from None
    return dict(tensors)
