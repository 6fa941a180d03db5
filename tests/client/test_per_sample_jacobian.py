"""The hooked per-image Jacobian equals the general vectorised one, tensor by tensor, and
models it cannot contract fall back to the general path."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tastevec.client import linearisation
from tastevec.client.per_sample_jacobian import Unsupported, per_sample_jacobian
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.common.task_vector import TaskVector


def _vmapped(composed: ComposedModel, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    value, jacobian = linearisation._vmapped_jacobian(composed, images)
    return value.detach().numpy(), jacobian.detach().numpy()


def test_hooked_jacobian_equals_vmapped_on_the_release(release: Path, trust: Path) -> None:
    manifest = verify_release(release, load_public_key(trust))
    model = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    k = len(vectors)
    init = 1.0 / k + 0.1 * torch.randn(k, generator=torch.Generator().manual_seed(1))
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=init).eval()
    images = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    names = composed.plan.tensor_names
    scores, jacobian = per_sample_jacobian(composed.merge(), names, composed.deltas(), images)
    expected_scores, expected = _vmapped(composed, images)
    assert np.allclose(scores.numpy(), expected_scores, atol=1e-6)
    scale = np.abs(expected).max(axis=(0, 2)) + 1e-8  # per tensor
    error = np.abs(jacobian.numpy() - expected).max(axis=(0, 2))
    assert (error / scale).max() < 1e-2, names[int(np.argmax(error / scale))]
    parameters = {name for name, _ in model.named_parameters()}
    assert any(np.abs(expected[:, i]).max() > 0 for i, n in enumerate(names) if n in parameters)


class _Scaled(nn.Module):
    """A score model that uses a parameter outside convolution, linear and batch norm."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.gamma = nn.Parameter(torch.ones(4))
        self.fc = nn.Linear(4, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(images)) * self.gamma[:, None, None]
        return self.fc(features.mean((2, 3)))[:, 0]


def _tiny_vectors(model: nn.Module, k: int) -> list[TaskVector]:
    state = model.state_dict()
    vectors = []
    for index in range(k):
        generator = torch.Generator().manual_seed(10 + index)
        tuned = {
            n: t + 0.1 * torch.randn(t.shape, generator=generator) if t.is_floating_point() else t
            for n, t in state.items()
        }
        vectors.append(TaskVector.from_state_dicts(state, tuned, source=f"db{index}"))
    return vectors


def test_an_unsupported_operation_is_named() -> None:
    model = _Scaled().eval().requires_grad_(False)
    names = [name for name, _ in model.named_parameters()]
    deltas = [torch.zeros(2, *p.shape) for p in model.parameters()]
    with pytest.raises(Unsupported, match="composed tensor is used by __getitem__"):
        per_sample_jacobian(model, names, deltas, torch.randn(2, 3, 8, 8))


def test_linearise_falls_back_to_the_general_path() -> None:
    torch.manual_seed(0)
    model = _Scaled().eval()
    vectors = _tiny_vectors(model, 3)
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=1.0 / 3)
    images = torch.randn(5, 3, 8, 8)
    scores, jacobian = linearisation.linearise(composed, images, chunk=2)
    expected_scores, expected = _vmapped(composed, images)
    assert np.allclose(scores, expected_scores, atol=1e-6)
    assert np.allclose(jacobian, expected, atol=1e-6)


class _Branchy(nn.Module):
    """A score model with a supported layer whose output the score ignores."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, groups=1)
        self.depthwise = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4)
        self.norm = nn.BatchNorm2d(4)
        self.unused = nn.Linear(4, 2)
        self.fc = nn.Linear(4, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.norm(self.depthwise(torch.relu(self.conv(images)))).mean((2, 3))
        self.unused(features)
        return self.fc(features)[:, 0]


def test_an_ignored_output_gets_zero_derivatives() -> None:
    torch.manual_seed(0)
    model = _Branchy().eval()
    model.norm.running_mean.uniform_(-0.5, 0.5)
    model.norm.running_var.uniform_(0.5, 2.0)
    vectors = _tiny_vectors(model, 3)
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=1.0 / 3).eval()
    images = torch.randn(4, 3, 8, 8)
    names = composed.plan.tensor_names
    scores, jacobian = per_sample_jacobian(composed.merge(), names, composed.deltas(), images)
    expected_scores, expected = _vmapped(composed, images)
    assert np.allclose(scores.numpy(), expected_scores, atol=1e-6)
    assert np.allclose(jacobian.numpy(), expected, atol=1e-5)
    assert not jacobian[:, names.index("unused.weight")].any()
