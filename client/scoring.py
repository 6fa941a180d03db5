"""Scoring images with a model: files and folders streamed in batches, best first.

Only (path, score) pairs are kept, never the images, so a folder of any size scores in
bounded memory. Files that cannot be read are skipped and reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from tastevec.common.images import find_images, iter_image_batches
from tastevec.common.score_model import ScoreModel

BATCH_SIZE = 32


@dataclass(frozen=True, slots=True)
class ScoredPaths:
    ranked: tuple[tuple[Path, float], ...]  # best first
    skipped: tuple[tuple[Path, str], ...]


def _all_images(targets: Sequence[Path]) -> Iterator[Path]:
    for target in targets:
        yield from find_images(target)


@torch.no_grad()
def score_paths(
    model: ScoreModel, targets: Sequence[Path], *, show_progress: bool = False
) -> ScoredPaths:
    """Scores in [0, 1] (higher is better) of every image in `targets`, best first."""
    paths = list(_all_images(targets))
    device = next(model.parameters()).device
    scored: list[tuple[Path, float]] = []
    skipped: list[tuple[Path, str]] = []
    batches = iter_image_batches(
        paths,
        model.preprocessing.transform(),
        batch_size=BATCH_SIZE,
        skip_errors=True,
        min_side=model.preprocessing.decode_side,
    )
    with tqdm(
        total=len(paths), unit="img", disable=not show_progress or len(paths) < BATCH_SIZE
    ) as bar:
        for batch in batches:
            skipped.extend(batch.skipped)
            if batch.paths:
                scores = model(batch.images.to(device)).float().cpu().tolist()
                scored.extend(zip(batch.paths, scores, strict=True))
            bar.update(len(batch.paths) + len(batch.skipped))
    scored.sort(key=lambda item: (-item[1], str(item[0])))
    return ScoredPaths(tuple(scored), tuple(skipped))
