"""What a person could use instead of task-vector customization, each fitted on support only.

- ridge probe: ridge regression on the frozen base backbone's features, alpha by
  leave-one-out (efficient generalised cross-validation);
- head fine-tune: the generic model's score head trained on the person's ratings (rank loss,
  AdamW) on top of its frozen backbone's features;
- output ensemble: ridge over the task vectors' own models' scores.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from tastevec.common.rank_loss import rank_loss

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))
HEAD_STEPS = 100
HEAD_LR = 1e-3


def ridge_predictions(support: np.ndarray, targets: np.ndarray, test: np.ndarray) -> np.ndarray:
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
    model.fit(support, targets)
    return np.asarray(model.predict(test), np.float64)


def head_fine_tune_predictions(
    head: nn.Module, support: np.ndarray, targets: np.ndarray, test: np.ndarray, *, seed: int = 0
) -> np.ndarray:
    torch.manual_seed(seed)
    tuned = copy.deepcopy(head).train()
    tuned.requires_grad_(True)
    optimiser = torch.optim.AdamW(tuned.parameters(), lr=HEAD_LR, weight_decay=0.01)
    features = torch.tensor(support, dtype=torch.float32)
    y = torch.tensor(targets, dtype=torch.float32)
    for _ in range(HEAD_STEPS):
        loss = rank_loss(tuned(features), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    tuned.eval()
    with torch.no_grad():
        return tuned(torch.tensor(test, dtype=torch.float32)).double().numpy()
