"""Losses: the rank loss prefers the right order, ignores ties; EMD is zero on a match."""

import pytest
import torch

from tastevec.common.backbone import BackboneSpec
from tastevec.common.rank_loss import rank_loss
from tastevec.common.score_model import build_score_model
from tastevec.server.losses import LOSSES, TrainingView, emd_loss, target_distribution


def test_rank_loss_is_lower_for_the_right_order() -> None:
    targets = torch.tensor([0.1, 0.5, 0.9])
    right = rank_loss(torch.tensor([0.2, 0.4, 0.8]), targets)
    wrong = rank_loss(torch.tensor([0.8, 0.4, 0.2]), targets)
    assert float(right) < 0.2 < float(wrong)


def test_rank_loss_ignores_ties_and_is_zero_without_pairs() -> None:
    predictions = torch.tensor([0.3, 0.9], requires_grad=True)
    loss = rank_loss(predictions, torch.tensor([0.5, 0.5]))
    assert float(loss.detach()) == 0.0
    loss.backward()  # still differentiable
    assert predictions.grad is not None and torch.all(predictions.grad == 0)


def test_rank_loss_gradient_pushes_the_better_image_up() -> None:
    predictions = torch.tensor([0.5, 0.5], requires_grad=True)
    rank_loss(predictions, torch.tensor([0.2, 0.8])).backward()
    assert predictions.grad is not None
    assert predictions.grad[1] < 0 < predictions.grad[0]


def test_target_distribution_sums_to_one_and_peaks_at_the_score() -> None:
    targets = torch.tensor([0.0, 0.5, 1.0])
    distribution = target_distribution(targets, 10)
    assert torch.allclose(distribution.sum(dim=-1), torch.ones(3))
    assert distribution.argmax(dim=-1).tolist() == [0, 4, 9]  # 0.5 lies between bins 4 and 5


def test_emd_is_zero_for_equal_distributions_and_grows_with_distance() -> None:
    a = target_distribution(torch.tensor([0.2]), 10)
    near = target_distribution(torch.tensor([0.3]), 10)
    far = target_distribution(torch.tensor([0.9]), 10)
    assert float(emd_loss(a, a)) == pytest.approx(0.0, abs=1e-7)
    assert 0 < float(emd_loss(a, near)) < float(emd_loss(a, far))


def test_training_view_gives_scores_or_distributions() -> None:
    model = build_score_model(BackboneSpec(weights="random")).eval()
    images = torch.randn(2, 3, 32, 32)
    scores = TrainingView(model, on_distribution=False)(images)
    distribution = TrainingView(model, on_distribution=True)(images)
    assert scores.shape == (2,) and distribution.shape == (2, 10)
    assert torch.allclose(distribution @ torch.linspace(0, 1, 10), scores, atol=1e-6)
    assert LOSSES["emd"].on_distribution and not LOSSES["rank"].on_distribution
    scalar = build_score_model(BackboneSpec(weights="random"), "scalar")
    with pytest.raises(TypeError, match="distribution head"):
        TrainingView(scalar, on_distribution=True)
