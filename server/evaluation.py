"""How well a score model ranks a database's test split: its predictions, SROCC and PLCC."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from tqdm import tqdm

from tastevec.common.datasets.records import ScoredImage
from tastevec.common.images import iter_image_batches
from tastevec.common.metrics import plcc, srocc
from tastevec.common.preprocessing import Preprocessing


def evaluate(
    model: nn.Module,
    items: Sequence[ScoredImage],
    preprocessing: Preprocessing,
    *,
    device: torch.device,
    batch_size: int = 64,
    label: str = "",
    show_progress: bool = False,
) -> dict[str, float]:
    """{"srocc", "plcc", "test_images"} of the model's scores against the items' scores."""
    predictions = predict(
        model,
        items,
        preprocessing,
        device=device,
        batch_size=batch_size,
        label=label,
        show_progress=show_progress,
    )
    truth = [item.score for item in items]
    return {
        "srocc": round(srocc(predictions, truth), 4),
        "plcc": round(plcc(predictions, truth), 4),
        "test_images": len(items),
    }


@torch.no_grad()
def predict(
    model: nn.Module,
    items: Sequence[ScoredImage],
    preprocessing: Preprocessing,
    *,
    device: torch.device,
    batch_size: int = 64,
    label: str = "",
    show_progress: bool = False,
) -> list[float]:
    """The model's score of each item's image, in order (eval mode)."""
    model.eval()
    predictions: list[float] = []
    batches = iter_image_batches(
        (item.path for item in items),
        preprocessing.transform(),
        batch_size=batch_size,
        min_side=preprocessing.decode_side,
    )
    total = -(-len(items) // batch_size)
    for batch in tqdm(batches, total=total, desc=f"evaluate {label}", disable=not show_progress):
        predictions.extend(model(batch.images.to(device)).float().cpu().tolist())
    return predictions
