from dataclasses import replace

import pytest
import torch

from tastevec.common.backbone import BackboneSpec
from tastevec.common.errors import BackboneError
from tastevec.common.preprocessing import Preprocessing
from tastevec.common.score_head import DistributionHead, ScalarHead, create_head
from tastevec.common.score_model import build_score_model

TINY = BackboneSpec("test_efficientnet", weights="random")


def test_distribution_head_gives_a_distribution_and_its_expectation() -> None:
    head = DistributionHead(8).eval()
    features = torch.randn(5, 8)
    distribution = head.distribution(features)
    assert distribution.shape == (5, 10)
    assert torch.allclose(distribution.sum(-1), torch.ones(5))
    expected = (distribution * torch.linspace(0, 1, 10)).sum(-1)
    assert torch.allclose(head(features), expected)
    assert ((head(features) >= 0) & (head(features) <= 1)).all()


def test_scalar_head_scores_in_unit_interval() -> None:
    scores = ScalarHead(8)(torch.randn(6, 8) * 100)
    assert scores.shape == (6,)
    assert ((scores >= 0) & (scores <= 1)).all()


def test_unknown_head_is_a_clear_error() -> None:
    with pytest.raises(BackboneError, match="unknown head 'softmax'"):
        create_head("softmax", 8)
    with pytest.raises(BackboneError, match="at least 2 bins"):
        DistributionHead(8, bins=1)


@pytest.mark.parametrize("head", ["distribution", "scalar"])
def test_score_model_scores_a_batch(head: str) -> None:
    model = build_score_model(TINY, head)
    scores = model(torch.randn(3, 3, 64, 64))
    assert scores.shape == (3,)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert all(n.startswith(("backbone.", "head.")) for n in model.state_dict())
    assert not any("classifier" in n for n in model.state_dict())


def test_same_head_seed_gives_the_same_head_whatever_the_global_seed() -> None:
    torch.manual_seed(1)
    a = build_score_model(TINY, head_seed=7)
    torch.manual_seed(2)
    b = build_score_model(TINY, head_seed=7)
    c = build_score_model(TINY, head_seed=8)
    assert torch.equal(a.head.fc1.weight, b.head.fc1.weight)
    assert not torch.equal(a.head.fc1.weight, c.head.fc1.weight)


def test_preprocessing_round_trips_and_validates() -> None:
    model = build_score_model(TINY)
    preprocessing = model.preprocessing
    assert Preprocessing.from_dict(preprocessing.to_dict()) == preprocessing
    assert preprocessing.with_size(128).input_size == 128
    with pytest.raises(BackboneError, match="outside 16..4096"):
        preprocessing.with_size(8)
    with pytest.raises(BackboneError, match="malformed preprocessing record"):
        Preprocessing.from_dict({"input_size": 224})
    whole = preprocessing.whole_image()
    assert (whole.crop_mode, whole.crop_pct) == ("squash", 1.0)
    assert Preprocessing.from_dict(whole.to_dict()) == whole
    with pytest.raises(BackboneError, match="unknown crop mode"):
        replace(preprocessing, crop_mode="border")
    with pytest.raises(BackboneError, match="unknown interpolation"):
        Preprocessing(224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), interpolation="cubic-ish")


def test_transform_produces_the_configured_tensor() -> None:
    from PIL import Image

    preprocessing = Preprocessing(64, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    white = Image.new("RGB", (100, 80), (255, 255, 255))
    tensor = preprocessing.transform()(white)
    assert tensor.shape == (3, 64, 64)
    assert torch.allclose(tensor, torch.ones_like(tensor), atol=1e-5)  # (1 - 0.5) / 0.5


def test_whole_image_keeps_what_the_centre_crop_cuts_off() -> None:
    from PIL import Image

    picture = Image.new("RGB", (200, 100), (255, 255, 255))
    picture.paste((255, 0, 0), (0, 0, 20, 100))  # a red strip along the left edge
    centre = Preprocessing(64, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    cropped = centre.transform()(picture)
    whole = centre.whole_image().transform()(picture)
    assert whole.shape == cropped.shape == (3, 64, 64)
    assert float(cropped[1].min()) > 0.9  # green channel white everywhere: the strip is gone
    assert float(whole[1, :, 0].max()) < -0.9  # the left column is red: no green
