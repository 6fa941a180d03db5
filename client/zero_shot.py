"""Each task vector's own model (coefficient 1 on it, 0 on the others) on a person's images,
and the paper's starting point for their coefficients: softmax(10 * zero-shot SROCC)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch

from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.metrics import srocc
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector

INIT_TEMPERATURE = 10.0
BATCH = 16  # on a CPU, small batches run faster per image than one big one (cache)


class OwnModels:
    """Each task vector's own model, merged once (a plain model each: K copies of the base's
    size), to score batch after batch of images."""

    def __init__(self, base: ScoreModel, vectors: Sequence[TaskVector]) -> None:
        composed = ComposedModel(base, vectors, CoefficientLayout.GLOBAL).eval()
        self.models = []
        for one_hot in torch.eye(len(vectors)):
            composed.set_coefficients(one_hot)
            self.models.append(composed.merge())

    @torch.no_grad()
    def scores(self, images: torch.Tensor) -> npt.NDArray[np.float32]:
        """Each own model's scores of `images`: [n, K]."""
        columns = []
        for model in self.models:
            batches = [model(images[i : i + BATCH]).cpu() for i in range(0, len(images), BATCH)]
            columns.append(torch.cat(batches).numpy())
        return np.stack(columns, axis=1).astype(np.float32)


def own_scores(
    base: ScoreModel, vectors: Sequence[TaskVector], images: torch.Tensor
) -> npt.NDArray[np.float32]:
    """Each task vector's own model's scores of `images`: [n, K]."""
    return OwnModels(base, vectors).scores(images)


def zero_shot_srocc(own: np.ndarray, targets: np.ndarray) -> tuple[float, ...]:
    """SROCC of each own model's scores [n, K] against the ratings (0 where a model is flat)."""
    return tuple(
        0.0 if np.ptp(own[:, i]) == 0 else srocc(own[:, i], targets) for i in range(own.shape[1])
    )


def initial_coefficients(
    sroccs: Sequence[float], temperature: float = INIT_TEMPERATURE
) -> torch.Tensor:
    """softmax(temperature * SROCC) over the task vectors: [K] (the paper's temperature: 10)."""
    return torch.softmax(temperature * torch.tensor(sroccs, dtype=torch.float32), dim=0)


def start_temperature(ratings: int, start_ratings: float) -> float:
    """The paper's temperature tempered for SROCCs measured on few ratings: 10 x n / (n +
    `start_ratings`) from n ratings (0: the paper's 10; inf: 0, the plain average)."""
    if math.isinf(start_ratings):
        return 0.0
    return INIT_TEMPERATURE * ratings / (ratings + start_ratings) if ratings else 0.0
