"""The score model: a timm backbone without its classifier, plus a score head."""

from __future__ import annotations

import torch
from torch import nn

from tastevec.common.backbone import BackboneSpec, load_backbone
from tastevec.common.preprocessing import Preprocessing
from tastevec.common.score_head import HeadKind, create_head


class ScoreModel(nn.Module):
    """images [batch, 3, H, W] -> scores [batch] in [0, 1], higher is better.

    Parameters are named `backbone.*` and `head.*`; coefficient layouts rely on that.
    `preprocessing` is the backbone's own, resolved once when the model is built.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, preprocessing: Preprocessing) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.preprocessing = preprocessing

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features, shape [batch, num_features]."""
        return self.backbone(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def build_score_model(
    spec: BackboneSpec | None = None,
    head: HeadKind | str = HeadKind.DISTRIBUTION,
    *,
    head_seed: int = 0,
) -> ScoreModel:
    """Backbone with pretrained weights, classifier removed, and a freshly seeded head.

    The same `head_seed` gives the same head initialisation, so that every fine-tune of a
    release starts from identical base weights.
    """
    backbone = load_backbone(spec)
    preprocessing = Preprocessing.from_model(backbone)
    backbone.reset_classifier(0)  # type: ignore[operator]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(head_seed)
        score_head = create_head(head, int(backbone.num_features))  # type: ignore[arg-type]
    return ScoreModel(backbone, score_head, preprocessing).eval()
