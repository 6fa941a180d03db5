import pytest

from tastevec.common.backbone import BackboneSpec
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan, parse_layout
from tastevec.common.errors import CompositionError
from tastevec.common.score_model import build_score_model


@pytest.fixture(scope="module")
def lite0_names() -> list[str]:
    model = build_score_model(BackboneSpec(weights="random"))
    return [n for n, t in model.state_dict().items() if t.is_floating_point()]


def test_global_layout_has_one_group(lite0_names: list[str]) -> None:
    plan = CoefficientPlan.for_tensors(CoefficientLayout.GLOBAL, lite0_names)
    assert plan.groups == ("all",)
    assert set(plan.tensor_groups) == {0}


def test_tensor_layout_has_one_group_per_tensor(lite0_names: list[str]) -> None:
    plan = CoefficientPlan.for_tensors(CoefficientLayout.TENSOR, lite0_names)
    assert plan.num_groups == len(lite0_names)
    assert plan.tensor_groups == tuple(range(len(lite0_names)))


def test_block_layout_follows_efficientnet_stages(lite0_names: list[str]) -> None:
    plan = CoefficientPlan.for_tensors(CoefficientLayout.BLOCK, lite0_names)
    blocks = tuple(f"backbone.blocks.{i}" for i in range(7))
    assert plan.groups == ("backbone.stem", *blocks, "backbone.neck", "head")
    group_of = dict(zip(plan.tensor_names, plan.tensor_groups, strict=True))
    assert plan.groups[group_of["backbone.conv_stem.weight"]] == "backbone.stem"
    assert plan.groups[group_of["backbone.blocks.3.1.conv_pw.weight"]] == "backbone.blocks.3"
    assert plan.groups[group_of["backbone.conv_head.weight"]] == "backbone.neck"
    assert plan.groups[group_of["head.fc2.bias"]] == "head"


def test_block_layout_knows_vit_and_resnet_names() -> None:
    vit = [
        "backbone.cls_token",
        "backbone.patch_embed.proj.weight",
        "backbone.blocks.0.attn.qkv.weight",
        "backbone.blocks.11.mlp.fc2.bias",
        "backbone.norm.weight",
        "head.fc.weight",
    ]
    plan = CoefficientPlan.for_tensors(CoefficientLayout.BLOCK, vit)
    assert plan.groups == (
        "backbone.stem",
        "backbone.blocks.0",
        "backbone.blocks.11",
        "backbone.neck",
        "head",
    )
    resnet = [
        "backbone.conv1.weight",
        "backbone.layer1.0.conv1.weight",
        "backbone.layer4.1.bn2.bias",
        "backbone.fc.weight",
    ]
    plan = CoefficientPlan.for_tensors(CoefficientLayout.BLOCK, resnet)
    assert plan.groups == ("backbone.stem", "backbone.layer1", "backbone.layer4", "backbone.neck")


def test_layout_names_parse_with_a_clear_error() -> None:
    assert parse_layout("block") is CoefficientLayout.BLOCK
    with pytest.raises(CompositionError, match="unknown coefficient layout 'layer'"):
        parse_layout("layer")


def test_plan_validates_itself() -> None:
    with pytest.raises(CompositionError, match="at least one tensor"):
        CoefficientPlan.for_tensors(CoefficientLayout.GLOBAL, [])
    with pytest.raises(CompositionError, match="does not exist"):
        CoefficientPlan(CoefficientLayout.GLOBAL, ("a",), ("all",), (3,))
