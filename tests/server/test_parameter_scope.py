"""Parameter scopes on the real EfficientNet-Lite0 parameter names."""

import pytest

from tastevec.common.backbone import BackboneSpec
from tastevec.common.score_model import build_score_model
from tastevec.server.parameter_scope import ScopeError, parse_scope, tuned_parameter_names


@pytest.fixture(scope="module")
def names() -> list[str]:
    model = build_score_model(BackboneSpec(weights="random"))
    return [name for name, _ in model.named_parameters()]


def test_all_tunes_every_parameter(names: list[str]) -> None:
    assert tuned_parameter_names("all", names) == tuple(names)


def test_head_tunes_the_head_only(names: list[str]) -> None:
    tuned = tuned_parameter_names("head", names)
    assert tuned and all(name.startswith("head.") for name in tuned)
    assert len(tuned) == sum(name.startswith("head.") for name in names)


def test_top_n_tunes_the_last_blocks_the_neck_and_the_head(names: list[str]) -> None:
    top1 = tuned_parameter_names("top-1", names)
    assert {n.split(".")[1] for n in top1 if n.startswith("backbone.")} == {"conv_head", "bn2"}
    top2 = set(tuned_parameter_names("top-2", names))
    assert any(n.startswith("backbone.blocks.6.") for n in top2)
    assert not any(n.startswith("backbone.blocks.5.") for n in top2)
    top3 = set(tuned_parameter_names("top-3", names))
    assert set(top1) < top2 < top3


def test_more_blocks_than_the_backbone_has_is_refused(names: list[str]) -> None:
    assert len(tuned_parameter_names("top-9", names)) == len(names)  # stem, 7 blocks, neck
    with pytest.raises(ScopeError, match="only 9 blocks"):
        tuned_parameter_names("top-10", names)


@pytest.mark.parametrize("bad", ["top-0", "top", "top-x", "ALL", "blocks"])
def test_unknown_scopes_are_refused(bad: str) -> None:
    with pytest.raises(ScopeError, match="parameter scope"):
        parse_scope(bad)
