"""One fine-tune: a score model trained on one database's training split.

AdamW (backbone at `lr`, the fresh head at `head_lr`) with a linear warm-up and a cosine
decay; BatchNorm statistics frozen so the task vector holds parameter changes only. The
batch order of every epoch and the dropout noise of every step derive from the seed, so a
run resumed from a checkpoint ends exactly where an uninterrupted run ends.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from tastevec.common.datasets.records import ScoredImage
from tastevec.common.errors import TastevecError
from tastevec.common.images import iter_image_batches
from tastevec.common.score_model import ScoreModel
from tastevec.server.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from tastevec.server.distributed import Distributed
from tastevec.server.forge_config import TrainingConfig
from tastevec.server.losses import LOSSES, TrainingView
from tastevec.server.parameter_scope import tuned_parameter_names

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FineTuneResult:
    tuned: dict[str, torch.Tensor]  # the tuned parameters after training, on the CPU
    summary: dict[str, Any]


def plan_steps(config: TrainingConfig, train_images: int) -> tuple[int, int]:
    """(steps per epoch, total steps); an incomplete last batch of an epoch is dropped."""
    per_epoch = train_images // config.batch_size
    if per_epoch < 1:
        raise TastevecError(
            f"{train_images} training images are fewer than one batch of {config.batch_size}"
        )
    return per_epoch, config.steps if config.steps is not None else config.epochs * per_epoch


def freeze_batch_norm(model: nn.Module) -> None:
    """Keep BatchNorm layers in eval mode: running statistics neither used from the batch
    nor updated."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def fine_tune(
    model: ScoreModel,
    items: Sequence[ScoredImage],
    config: TrainingConfig,
    *,
    label: str,
    fingerprint: str,
    checkpoint_path: Path,
    distributed: Distributed,
    show_progress: bool = True,
) -> FineTuneResult:
    """Train `model` in place on `items`, resuming from `checkpoint_path` if it holds a
    checkpoint with the same `fingerprint`; returns the tuned tensors and a summary."""
    device = distributed.device
    per_epoch, total = plan_steps(config, len(items))
    names = tuned_parameter_names(config.scope, [n for n, _ in model.named_parameters()])
    parameters = dict(model.named_parameters())
    model.requires_grad_(False)
    for name in names:
        parameters[name].requires_grad_(True)
    optimiser = _optimiser([(n, parameters[n]) for n in names], config)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, _warmup_cosine(config, total))

    start = 0
    checkpoint = load_checkpoint(checkpoint_path, fingerprint)
    if checkpoint is not None:
        with torch.no_grad():
            for name in names:
                parameters[name].copy_(checkpoint.tensors[name])
        optimiser.load_state_dict(checkpoint.optimiser)
        schedule.load_state_dict(checkpoint.schedule)
        start = checkpoint.step
        log.info("%s: resuming from step %d of %d", label, start, total)
        if distributed.is_main:
            print(f"{label}: resuming from step {start} of {total}", flush=True)

    loss_fn = LOSSES[config.loss]
    view: nn.Module = TrainingView(model, on_distribution=loss_fn.on_distribution)
    if distributed.active:
        view = DistributedDataParallel(view, device_ids=[device] if device.type == "cuda" else None)
    model.train()
    freeze_batch_norm(model)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if config.amp and device.type == "cuda"
        else nullcontext()
    )
    scores = torch.tensor([item.score for item in items], dtype=torch.float32)
    batches = _batches(model, items, config, per_epoch, total, start, label, distributed)
    progress = tqdm(
        total=total,
        initial=start,
        desc=f"forge {label}",
        unit="step",
        disable=not (show_progress and distributed.is_main),
        dynamic_ncols=True,
    )
    started = time.perf_counter()
    seen = 0
    loss_value = math.nan
    try:
        for step, (indices, images) in zip(range(start, total), batches, strict=False):
            torch.manual_seed(_step_seed(config.seed, label, step, distributed.rank))
            targets = scores[indices].to(device)
            with autocast:
                outputs = view(images.to(device, non_blocking=True))
            loss = loss_fn.compute(outputs.float(), targets)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            loss_value = float(loss.detach())
            seen += len(indices) * distributed.world_size
            rate = seen / max(time.perf_counter() - started, 1e-9)
            progress.set_postfix(loss=f"{loss_value:.4f}", img_s=f"{rate:.1f}")
            progress.update(1)
            done = step + 1
            if distributed.is_main and done < total and done % config.checkpoint_every == 0:
                tuned = {n: parameters[n].detach() for n in names}
                state = Checkpoint(
                    fingerprint, done, tuned, optimiser.state_dict(), schedule.state_dict()
                )
                save_checkpoint(checkpoint_path, state)
    finally:
        progress.close()
    seconds = time.perf_counter() - started
    model.eval()
    model.requires_grad_(False)
    summary = {
        "loss": config.loss,
        "scope": config.scope,
        "steps": total,
        "epochs": round(total / per_epoch, 3),
        "batch_size": config.batch_size,
        "lr": config.lr,
        "head_lr": config.head_lr,
        "image_size": model.preprocessing.input_size,
        "train_images": len(items),
        "resumed_from_step": start,
        "final_loss": round(loss_value, 6),
        "seconds": round(seconds, 2),
        "images_per_second": round(seen / seconds, 2) if seconds > 0 else None,
        "processes": distributed.world_size,
        "device": device.type,
    }
    return FineTuneResult({n: parameters[n].detach().cpu().clone() for n in names}, summary)


def _optimiser(
    tuned: Sequence[tuple[str, nn.Parameter]], config: TrainingConfig
) -> torch.optim.AdamW:
    """AdamW with the backbone at `lr` and the freshly initialised head at `head_lr`."""
    backbone = [p for name, p in tuned if not name.startswith("head.")]
    head = [p for name, p in tuned if name.startswith("head.")]
    return torch.optim.AdamW(
        [{"params": backbone, "lr": config.lr}, {"params": head, "lr": config.head_lr}],
        weight_decay=config.weight_decay,
    )


def _batches(
    model: ScoreModel,
    items: Sequence[ScoredImage],
    config: TrainingConfig,
    per_epoch: int,
    total: int,
    start: int,
    label: str,
    distributed: Distributed,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(indices, images) of this process's share of each step's batch, from `start` on."""
    local = distributed.shard(config.batch_size)
    shares = []
    order = torch.empty(0, dtype=torch.long)
    for step in range(start, total):
        epoch, position = divmod(step, per_epoch)
        if step == start or position == 0:
            generator = torch.Generator().manual_seed(_mix(config.seed, label, epoch))
            order = torch.randperm(len(items), generator=generator)
        batch = order[position * config.batch_size : (position + 1) * config.batch_size]
        shares.append(batch[distributed.rank :: distributed.world_size])
    paths = (items[int(i)].path for share in shares for i in share)
    preprocessing = model.preprocessing
    decoded = iter_image_batches(
        paths, preprocessing.transform(), batch_size=local, min_side=preprocessing.decode_side
    )
    for share, images in zip(shares, decoded, strict=True):
        yield share, images.images


def _step_seed(seed: int, label: str, step: int, rank: int) -> int:
    return _mix(seed, label, step * 1024 + rank)


def _mix(seed: int, label: str, value: int) -> int:
    return (seed * 1_000_003 + zlib.crc32(label.encode()) * 7919 + value) % (2**63 - 1)


def _warmup_cosine(config: TrainingConfig, total: int) -> Any:
    warmup = int(config.warmup_fraction * total)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor
