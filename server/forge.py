"""Forge: one task vector per database from the same base weights, published as a release.

For each configured database the base model (the backbone plus a head from `head_seed`) is
fine-tuned on its training split (`fine_tune`), the difference of the tuned parameters is its
task vector, and the vector as shipped (after its encoding) is evaluated on the database's test
split. Finished vectors and in-progress checkpoints live in a work folder, so a forge that is
killed and restarted continues where it stopped. With `from_release`, vectors of an earlier
release made from the same base, data and settings are reused blob for blob.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tastevec.common.atomic_file import write_atomic
from tastevec.common.datasets.catalog import DATABASES, load_image_scores
from tastevec.common.datasets.records import ImageScores, ScoredImage
from tastevec.common.digests import state_dict_digest
from tastevec.common.errors import TastevecError
from tastevec.common.release import (
    MANIFEST_FILE,
    link_blob,
    sign_release,
    verify_release,
    write_blob,
)
from tastevec.common.release_manifest import (
    BackboneEntry,
    Manifest,
    TaskVectorEntry,
    new_release_id,
    utc_now_iso,
)
from tastevec.common.release_model import WEIGHTS_FORMAT
from tastevec.common.safetensors_bytes import save_canonical
from tastevec.common.score_model import ScoreModel, build_score_model
from tastevec.common.task_vector import TaskVector
from tastevec.server.distributed import Distributed, start_distributed, stop_distributed
from tastevec.server.evaluation import evaluate
from tastevec.server.fine_tune import fine_tune
from tastevec.server.forge_config import DatabaseConfig, ForgeConfig

log = logging.getLogger(__name__)

TRAIN_SPLIT = "train"
TEST_SPLIT = "test"


class ForgeError(TastevecError):
    """A forge that cannot go on: an output folder in the way, a database without a split."""


@dataclass(frozen=True, slots=True)
class Forged:
    """A finished fine-tune, as kept in the work folder."""

    vector: TaskVector
    fingerprint: str
    training: dict[str, Any]


def build_base_model(config: ForgeConfig) -> ScoreModel:
    """The model every fine-tune of this forge starts from (preprocessing at the forge size)."""
    model = build_score_model(config.backbone, config.head, head_seed=config.head_seed)
    if config.training.image_size is not None:
        model.preprocessing = model.preprocessing.with_size(config.training.image_size)
    if config.training.whole_image:
        model.preprocessing = model.preprocessing.whole_image()
    return model


def forge_release(
    config: ForgeConfig,
    out: Path,
    *,
    private_key: Ed25519PrivateKey,
    work_dir: Path | None = None,
    from_release: Path | None = None,
    trust: Ed25519PublicKey | None = None,
    show_progress: bool = True,
) -> Manifest | None:
    """Forge every database of `config` and write a signed release to `out`.

    Returns the manifest (None on the helper processes of a distributed run).
    """
    _check_out(out)
    work = work_dir or out.with_name(out.name + ".work")
    distributed = start_distributed()
    try:
        torch.manual_seed(config.training.seed)
        model = build_base_model(config).to(distributed.device)
        base = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        base_digest = state_dict_digest(base)
        earlier = _earlier_release(from_release, trust, base_digest)
        # Every database is read (and checked) before the first fine-tune starts.
        sources = [
            (db, load_image_scores(db.name, db.root, **dict(db.options))) for db in config.databases
        ]
        entries = []
        for database, scores in sources:
            fingerprint = _fingerprint(config, database, scores, base_digest)
            reused = _reusable(earlier, database.name, fingerprint, config.encoding)
            if reused is not None and earlier is not None:
                log.info("%s: reusing release %s", database.name, earlier[1].release_id)
                if distributed.is_main:
                    link_blob(out, earlier[0], reused.blob)
                entries.append(reused)
                continue
            forged = _forge_one(
                config,
                model,
                base,
                base_digest,
                scores,
                fingerprint,
                work,
                distributed,
                show_progress,
            )
            distributed.barrier()
            if distributed.is_main:
                entries.append(
                    _publish_vector(
                        config, model, base, scores, forged, out, distributed, show_progress
                    )
                )
        if not distributed.is_main:
            return None
        return _sign(config, model, base, base_digest, entries, out, private_key, earlier)
    finally:
        stop_distributed(distributed)


def _check_out(out: Path) -> None:
    if (out / MANIFEST_FILE).exists():
        raise ForgeError(f"{out} already holds a release; choose a new --out folder")
    if out.exists() and not out.is_dir():
        raise ForgeError(f"{out} exists and is not a folder")


def _fingerprint(
    config: ForgeConfig, database: DatabaseConfig, scores: ImageScores, base_digest: str
) -> str:
    """sha256 of everything that decides a task vector's weights."""
    train = [
        (str(item.path.relative_to(scores.root)), item.score)
        for item in _split(scores, TRAIN_SPLIT)
    ]
    settings = config.to_dict()
    del settings["training"]["checkpoint_every"]  # how often to save does not change weights
    record = {
        "forge": settings,
        "base": base_digest,
        "database": database.name,
        "options": dict(database.options),
        "train": train,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def _split(scores: ImageScores, name: str) -> tuple[ScoredImage, ...]:
    if name not in scores.splits or not scores.split(name):
        raise ForgeError(f"{scores.info.title} at {scores.root} has no {name!r} images to use")
    return scores.split(name)


def _forge_one(
    config: ForgeConfig,
    model: ScoreModel,
    base: dict[str, torch.Tensor],
    base_digest: str,
    scores: ImageScores,
    fingerprint: str,
    work: Path,
    distributed: Distributed,
    show_progress: bool,
) -> Forged:
    name = scores.info.name
    vector_file = work / f"{name}.task-vector.safetensors"
    record_file = work / f"{name}.json"
    checkpoint_file = work / f"{name}.checkpoint.pt"
    done = _read_done(vector_file, record_file, fingerprint)
    if done is not None:
        log.info("%s: already forged in %s", name, work)
        return done
    model.load_state_dict(base)
    result = fine_tune(
        model,
        _split(scores, TRAIN_SPLIT),
        config.training,
        label=name,
        fingerprint=fingerprint,
        checkpoint_path=checkpoint_file,
        distributed=distributed,
        show_progress=show_progress,
    )
    base_tuned = {k: base[k] for k in result.tuned}
    vector = TaskVector.from_state_dicts(
        base_tuned, result.tuned, source=name, base_digest=base_digest
    )
    forged = Forged(vector, fingerprint, result.summary)
    if distributed.is_main:
        vector.save(vector_file)
        record = {"fingerprint": fingerprint, "training": result.summary}
        write_atomic(record_file, (json.dumps(record, indent=2) + "\n").encode())
        checkpoint_file.unlink(missing_ok=True)
    return forged


def _read_done(vector_file: Path, record_file: Path, fingerprint: str) -> Forged | None:
    if not (vector_file.exists() and record_file.exists()):
        return None
    record = json.loads(record_file.read_text(encoding="utf-8"))
    if record.get("fingerprint") != fingerprint:
        return None
    return Forged(TaskVector.load(vector_file), fingerprint, dict(record["training"]))


def _publish_vector(
    config: ForgeConfig,
    model: ScoreModel,
    base: dict[str, torch.Tensor],
    scores: ImageScores,
    forged: Forged,
    out: Path,
    distributed: Distributed,
    show_progress: bool,
) -> TaskVectorEntry:
    """Encode the vector, store its blob, and evaluate it as shipped on the test split."""
    data = forged.vector.to_bytes(config.encoding)
    blob = write_blob(out, data)
    shipped = TaskVector.from_bytes(data, origin=f"{scores.info.name} task vector")
    model.load_state_dict(shipped.apply_to(base))
    metrics = evaluate(
        model,
        _split(scores, TEST_SPLIT),
        model.preprocessing,
        device=distributed.device,
        label=scores.info.name,
        show_progress=show_progress,
    )
    model.load_state_dict(base)
    info = DATABASES[scores.info.name]
    return TaskVectorEntry(
        source=info.name,
        title=info.title,
        kind=info.kind.value,
        blob=blob,
        encoding=config.encoding,
        scope=config.training.scope,
        parameters=forged.vector.num_parameters,
        training={**forged.training, "fingerprint": forged.fingerprint},
        metrics=metrics,
    )


def _earlier_release(
    from_release: Path | None, trust: Ed25519PublicKey | None, base_digest: str
) -> tuple[Path, Manifest] | None:
    if from_release is None:
        return None
    if trust is None:
        raise ForgeError("reusing an earlier release needs the public key it was signed with")
    manifest = verify_release(from_release, trust)
    if manifest.backbone.base_digest != base_digest:
        raise ForgeError(
            f"release {manifest.release_id} was forged from other base weights; nothing to reuse"
        )
    return from_release, manifest


def _reusable(
    earlier: tuple[Path, Manifest] | None, name: str, fingerprint: str, encoding: str
) -> TaskVectorEntry | None:
    """The earlier release's vector for `name`, if made from the same everything."""
    if earlier is None:
        return None
    for entry in earlier[1].task_vectors:
        if (
            entry.source == name
            and entry.training.get("fingerprint") == fingerprint
            and entry.encoding == encoding
        ):
            return entry
    return None


def _sign(
    config: ForgeConfig,
    model: ScoreModel,
    base: dict[str, torch.Tensor],
    base_digest: str,
    entries: list[TaskVectorEntry],
    out: Path,
    private_key: Ed25519PrivateKey,
    earlier: tuple[Path, Manifest] | None,
) -> Manifest:
    weights = write_blob(out, _weights_bytes(base, "backbone."))
    head = write_blob(out, _weights_bytes(base, "head."))
    backbone = BackboneEntry(
        name=config.backbone.name,
        architecture=_architecture(model, config),
        weights=weights,
        head_kind=config.head,
        head=head,
        preprocessing=model.preprocessing.to_dict(),
        base_digest=base_digest,
    )
    digests = [weights.sha256, head.sha256, *(e.blob.sha256 for e in entries)]
    notes: dict[str, Any] = {"forge": config.to_dict(), "encoding": config.encoding}
    if earlier is not None:
        notes["parent"] = earlier[1].release_id
    manifest = Manifest(
        release_id=new_release_id(digests),
        created=utc_now_iso(),
        backbone=backbone,
        task_vectors=tuple(entries),
        notes=notes,
    )
    sign_release(out, manifest, private_key)
    return manifest


def _architecture(model: ScoreModel, config: ForgeConfig) -> str:
    """The timm architecture to rebuild the backbone from (also for `local-dir:` models)."""
    pretrained: dict[str, Any] = getattr(model.backbone, "pretrained_cfg", None) or {}
    return str(pretrained.get("architecture") or config.backbone.architecture)


def _weights_bytes(state: dict[str, torch.Tensor], prefix: str) -> bytes:
    tensors = {k: v.contiguous() for k, v in state.items() if k.startswith(prefix)}
    return save_canonical(tensors, {"format": WEIGHTS_FORMAT})
