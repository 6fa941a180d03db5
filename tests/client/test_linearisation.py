"""The per-image Jacobian in the coefficients matches the real model's finite differences."""

from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.linearisation import group_jacobian, linearise
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.score_model import ScoreModel
from tastevec.common.signing import load_public_key
from tastevec.common.task_vector import TaskVector


@pytest.fixture(scope="module")
def parts(release: Path, trust: Path) -> tuple[ScoreModel, list[TaskVector], torch.Tensor]:
    manifest = verify_release(release, load_public_key(trust))
    model = load_release_model(release, manifest)
    images = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    return model, load_release_task_vectors(release, manifest), images


def test_jacobian_matches_finite_differences(
    parts: tuple[ScoreModel, list[TaskVector], torch.Tensor],
) -> None:
    model, vectors, images = parts
    k = len(vectors)
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=1.0 / k)
    scores, jacobian = linearise(composed, images, chunk=2)
    with torch.no_grad():
        assert np.allclose(scores, composed(images).numpy(), atol=1e-5)
    assert jacobian.shape == (3, composed.plan.num_groups, k)
    global_plan = CoefficientPlan.for_tensors(CoefficientLayout.GLOBAL, composed.plan.tensor_names)
    summed = group_jacobian(jacobian, global_plan)[:, 0, :]
    flat = ComposedModel(model, vectors, CoefficientLayout.GLOBAL, init=1.0 / k).eval()
    eps = 1e-2
    for index in range(k):
        step = torch.full((k,), 1.0 / k)
        step[index] += eps
        flat.set_coefficients(step)
        with torch.no_grad():
            up = flat(images).numpy()
        step[index] -= 2 * eps
        flat.set_coefficients(step)
        with torch.no_grad():
            down = flat(images).numpy()
        numeric = (up - down) / (2 * eps)
        assert np.allclose(summed[:, index], numeric, atol=2e-3 + 0.02 * np.abs(numeric).max())


def test_group_jacobian_sums_the_tensors_of_each_group() -> None:
    plan = CoefficientPlan.for_tensors(
        CoefficientLayout.BLOCK,
        ["backbone.conv_stem.weight", "backbone.blocks.0.0.w", "backbone.blocks.0.1.w", "head.w"],
    )
    jacobian = np.arange(24, dtype=np.float32).reshape(1, 4, 6)
    grouped = group_jacobian(jacobian, plan)
    assert grouped.shape == (1, 3, 6)
    assert np.array_equal(grouped[0, 1], jacobian[0, 1] + jacobian[0, 2])
