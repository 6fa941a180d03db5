import pickle
from pathlib import Path

import huggingface_hub.constants
import pytest
import skimage.data
import timm
import torch
from PIL import Image
from safetensors.torch import save_file

from tastevec.common.backbone import (
    DEFAULT_BACKBONE,
    BackboneSpec,
    embedded_weights_file,
    load_backbone,
    map_state_dict_by_order,
)
from tastevec.common.errors import BackboneError
from tastevec.common.images import load_image
from tastevec.common.preprocessing import Preprocessing

ESPRESSO = 967  # ImageNet-1k class index
TINY = "test_efficientnet"  # timm's tiny test architecture, random weights here


@pytest.fixture(scope="module")
def default_backbone() -> torch.nn.Module:
    return load_backbone()


def test_default_backbone_sees_espresso_in_coffee_photo(default_backbone: torch.nn.Module) -> None:
    transform = Preprocessing.from_model(default_backbone).transform()
    image = Image.fromarray(skimage.data.coffee())
    with torch.no_grad():
        probabilities = default_backbone(transform(image)[None]).softmax(-1)[0]
    assert int(probabilities.argmax()) == ESPRESSO
    assert float(probabilities[ESPRESSO]) > 0.8


def test_default_backbone_preprocessing_comes_from_its_config(
    default_backbone: torch.nn.Module,
) -> None:
    preprocessing = Preprocessing.from_model(default_backbone)
    assert preprocessing.input_size == 224
    assert preprocessing.mean == (0.5, 0.5, 0.5)
    assert preprocessing.std == (0.5, 0.5, 0.5)
    assert preprocessing.interpolation == "bicubic"


@pytest.mark.parametrize("crop", ["center", "squash"])
def test_a_big_photo_decoded_at_decode_side_looks_the_same_to_the_model(
    default_backbone: torch.nn.Module, tmp_path: Path, crop: str
) -> None:
    preprocessing = Preprocessing.from_model(default_backbone)
    if crop == "squash":
        preprocessing = preprocessing.whole_image()
    assert preprocessing.decode_side == int(preprocessing.input_size / preprocessing.crop_pct)
    photo = tmp_path / "coffee.jpg"  # 12 megapixels, as a phone takes them
    Image.fromarray(skimage.data.coffee()).resize((4000, 3000)).save(photo, quality=90)
    reduced = load_image(photo, min_side=preprocessing.decode_side)
    assert min(reduced.size) >= preprocessing.decode_side and reduced.size[0] < 1000
    transform = preprocessing.transform()
    with torch.no_grad():
        full = default_backbone(transform(load_image(photo))[None]).softmax(-1)[0]
        fast = default_backbone(transform(reduced)[None]).softmax(-1)[0]
    assert int(fast.argmax()) == int(full.argmax()) == ESPRESSO
    assert float((fast - full).abs().max()) < 0.05


def test_embedded_weights_load_strictly_into_timm_keys(default_backbone: torch.nn.Module) -> None:
    raw = torch.load(embedded_weights_file(DEFAULT_BACKBONE), weights_only=True)
    state = default_backbone.state_dict()
    assert len(raw) == len(state)
    assert torch.equal(raw["_conv_stem.weight"], state["conv_stem.weight"])
    assert torch.equal(raw["_fc.weight"], state["classifier.weight"])


def test_spec_resolves_where_weights_come_from() -> None:
    assert BackboneSpec().weights_kind == "embedded"
    assert BackboneSpec("vit_base_patch16_clip_224.openai").weights_kind == "hub"
    assert BackboneSpec("vit_large_patch14_clip_224.datacompxl").architecture == (
        "vit_large_patch14_clip_224"
    )
    assert BackboneSpec(TINY, weights="random").weights_kind == "random"
    assert BackboneSpec(TINY, weights="/x/w.safetensors").weights_kind == "file"
    with pytest.raises(BackboneError, match="empty"):
        BackboneSpec("")


def test_order_mapping_refuses_what_does_not_line_up() -> None:
    target = {"a": torch.zeros(2), "b": torch.zeros(3)}
    with pytest.raises(BackboneError, match="3 tensors, but the model has 2"):
        map_state_dict_by_order(
            {"x": torch.zeros(2)} | {"y": torch.zeros(3), "z": torch.zeros(1)}, target, "f.pth"
        )
    with pytest.raises(BackboneError, match=r"shape \(3,\) but model key 'a'"):
        map_state_dict_by_order({"x": torch.zeros(3), "y": torch.zeros(3)}, target, "f.pth")
    mapped = map_state_dict_by_order({"x": torch.ones(2), "y": torch.ones(3)}, target, "f.pth")
    assert list(mapped) == ["a", "b"]


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(BackboneError, match="unknown timm model 'no_such_net'"):
        load_backbone(BackboneSpec("no_such_net", weights="random"))


def test_no_embedded_weights_for_other_architectures() -> None:
    with pytest.raises(BackboneError, match="no embedded weights for 'resnet18'"):
        load_backbone(BackboneSpec("resnet18", weights="embedded"))


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_local_weights_file_loads_exactly(tmp_path: Path, suffix: str) -> None:
    source = timm.create_model(TINY, pretrained=False)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    else:
        torch.save({"state_dict": source.state_dict()}, path)
    loaded = load_backbone(BackboneSpec(TINY, weights=str(path)))
    for name, tensor in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_local_weights_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    save_file({"foo.weight": torch.zeros(3)}, str(path))
    with pytest.raises(BackboneError, match=r"do not fit 'test_efficientnet'.*missing keys"):
        load_backbone(BackboneSpec(TINY, weights=str(path)))


def test_corrupt_or_missing_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(BackboneError, match="cannot read weights file .*corrupt.safetensors"):
        load_backbone(BackboneSpec(TINY, weights=str(corrupt)))
    with pytest.raises(BackboneError, match="weights file not found"):
        load_backbone(BackboneSpec(TINY, weights=str(tmp_path / "absent.pth")))


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this must never run",))


def test_pickles_with_code_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    with path.open("wb") as handle:
        pickle.dump({"conv_stem.weight": _Payload()}, handle, protocol=2)
    with pytest.raises(BackboneError, match="evil.pth"):
        load_backbone(BackboneSpec(TINY, weights=str(path)))


def _seed_hub_cache(cache: Path, name: str, state: dict[str, torch.Tensor]) -> None:
    """Lay out an HF hub cache entry as huggingface_hub would after a download."""
    repo = cache / f"models--timm--{name}"
    revision = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    save_file({k: v.contiguous() for k, v in state.items()}, str(snapshot / "model.safetensors"))


def test_hub_weights_load_through_an_unmodified_hub_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "test_vit.r160_in1k"
    torch.manual_seed(1)
    published = timm.create_model(name, pretrained=False).state_dict()
    _seed_hub_cache(tmp_path, name, published)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    model = load_backbone(BackboneSpec(name))
    for key, tensor in published.items():
        assert torch.equal(model.state_dict()[key], tensor), key


def test_hub_weights_missing_offline_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(BackboneError, match="cannot fetch pretrained weights for 'test_vit"):
        load_backbone(BackboneSpec("test_vit.r160_in1k"))


def test_a_local_hub_layout_folder_loads_offline(tmp_path: Path) -> None:
    from timm.models._hub import save_for_hf

    source = timm.create_model(TINY, pretrained=False)
    save_for_hf(source, tmp_path, safe_serialization=True)
    spec = BackboneSpec(f"local-dir:{tmp_path}")
    assert spec.weights_kind == "hub"
    loaded = load_backbone(spec)
    for name, tensor in source.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert Preprocessing.from_model(loaded).input_size == 160  # from the folder's config.json


def test_a_missing_or_broken_local_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackboneError, match="cannot load backbone from folder /nonexistent"):
        load_backbone(BackboneSpec("local-dir:/nonexistent"))
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(BackboneError, match=f"cannot load backbone from folder {tmp_path}"):
        load_backbone(BackboneSpec(f"local-dir:{tmp_path}"))


@pytest.mark.slow
def test_paper_backbone_name_builds_with_clip_preprocessing() -> None:
    model = load_backbone(BackboneSpec("vit_base_patch16_clip_224.openai", weights="random"))
    preprocessing = Preprocessing.from_model(model)
    assert preprocessing.input_size == 224
    assert preprocessing.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))
