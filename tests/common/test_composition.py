from typing import NamedTuple

import pytest
import torch

from tastevec.common.backbone import BackboneSpec
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.composition import ComposedModel
from tastevec.common.errors import CompositionError
from tastevec.common.score_model import ScoreModel, build_score_model
from tastevec.common.task_vector import TaskVector

TINY = BackboneSpec("test_efficientnet", weights="random")


def _model() -> ScoreModel:
    torch.manual_seed(0)
    return build_score_model(TINY)


def _finetuned(base: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        k: v * (1 + 0.2 * torch.randn(v.shape, generator=generator)) if v.is_floating_point() else v
        for k, v in base.items()
    }


class Case(NamedTuple):
    model: ScoreModel
    tuned: list[dict[str, torch.Tensor]]
    vectors: list[TaskVector]


@pytest.fixture()
def case() -> Case:
    model = _model()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    tuned = [_finetuned(base, seed) for seed in (1, 2, 3)]
    vectors = [TaskVector.from_state_dicts(base, t, source=f"db{i}") for i, t in enumerate(tuned)]
    return Case(model, tuned, vectors)


IMAGES = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(9))


@pytest.mark.parametrize("layout", list(CoefficientLayout))
def test_merge_matches_the_functional_forward(case: Case, layout: CoefficientLayout) -> None:
    model, _, vectors = case
    composed = ComposedModel(model, vectors, layout).eval()
    generator = torch.Generator().manual_seed(4)
    composed.set_coefficients(
        torch.rand(composed.plan.num_groups, len(vectors), generator=generator) * 1.5 - 0.25
    )
    with torch.no_grad():
        functional = composed(IMAGES)
        merged = composed.merge()(IMAGES)
    assert (functional - merged).abs().max() < 1e-5
    assert not torch.allclose(functional, model(IMAGES))  # the coefficients did something


def test_unit_coefficients_reproduce_each_finetuned_model(case: Case) -> None:
    model, tuned, vectors = case
    composed = ComposedModel(model, vectors, CoefficientLayout.GLOBAL).eval()
    reference = _model()
    with torch.no_grad():
        assert (composed(IMAGES) - reference.eval()(IMAGES)).abs().max() < 1e-6  # lambda = 0
        for i, state in enumerate(tuned):
            composed.set_coefficients(torch.eye(len(vectors))[i])
            reference.load_state_dict(state)
            assert (composed(IMAGES) - reference(IMAGES)).abs().max() < 1e-5


def test_gradients_reach_only_the_coefficients(case: Case) -> None:
    model, _, vectors = case
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=0.3).eval()
    assert [n for n, p in composed.named_parameters() if p.requires_grad] == ["coefficients"]
    composed(IMAGES).sum().backward()
    assert composed.coefficients.grad is not None
    assert composed.coefficients.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters())


def test_coefficient_gradient_matches_finite_differences(case: Case) -> None:
    model, _, vectors = case
    model = model.double()
    # BatchNorm statistics are composed without gradient by design; leave them out here so
    # that the finite differences see exactly what autograd differentiates.
    vectors = [
        TaskVector(
            {k: t.double() for k, t in v.deltas.items() if "running_" not in k}, source=v.source
        )
        for v in vectors
    ]
    composed = ComposedModel(model, vectors, CoefficientLayout.BLOCK, init=0.2).eval()
    images = IMAGES.double()

    def loss(coefficients: torch.Tensor) -> torch.Tensor:
        composed.set_coefficients(coefficients)
        return composed(images).square().sum()

    start = composed.coefficients.detach().clone()
    composed.coefficients.grad = None
    loss(start).backward()
    analytic = composed.coefficients.grad.clone()
    eps = 1e-5
    for index in [(0, 0), (3, 1), (composed.plan.num_groups - 1, 2)]:
        bumped = start.clone()
        bumped[index] += eps
        with torch.no_grad():
            up = loss(bumped)
            bumped[index] -= 2 * eps
            down = loss(bumped)
        assert float((up - down) / (2 * eps)) == pytest.approx(
            float(analytic[index]), rel=2e-3, abs=1e-10
        )


def test_no_copy_of_the_model_per_task_vector(case: Case) -> None:
    model, _, vectors = case
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR)
    held = sum(
        b.numel() * b.element_size() for n, b in composed.named_buffers() if n.startswith("_delta")
    )
    assert held == sum(v.nbytes for v in vectors)
    assert composed.base is model  # frozen in place, not copied
    assert composed.coefficients.numel() == composed.plan.num_groups * len(vectors)


def test_batchnorm_stays_frozen_in_training_mode(case: Case) -> None:
    model, _, vectors = case
    composed = ComposedModel(model, vectors, CoefficientLayout.GLOBAL).train()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and not any(m.training for m in norms)
    assert model.head.training  # dropout still follows the mode
    before = {k: v.clone() for k, v in model.state_dict().items()}
    composed(IMAGES).sum().backward()
    for key, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[key]), key


def test_negative_coefficients_never_make_a_negative_variance(case: Case) -> None:
    model, _, vectors = case
    composed = ComposedModel(model, vectors, CoefficientLayout.GLOBAL, init=-20.0).eval()
    variances = [t for n, t in composed.composed_state().items() if n.endswith("running_var")]
    assert variances and all(float(v.min()) >= 0 for v in variances)


def test_initial_coefficients_per_task_vector_or_full_matrix(case: Case) -> None:
    model, _, vectors = case
    per_task = torch.tensor([0.2, 0.3, 0.5])
    composed = ComposedModel(model, vectors, CoefficientLayout.BLOCK, init=per_task)
    assert torch.equal(composed.coefficients[0], per_task)
    assert torch.equal(composed.coefficients[-1], per_task)
    with pytest.raises(CompositionError, match=r"fit neither \(3,\)"):
        ComposedModel(model, vectors, CoefficientLayout.BLOCK, init=torch.zeros(2))


def test_task_vectors_that_do_not_fit_the_model_are_refused(case: Case) -> None:
    model, _, vectors = case
    with pytest.raises(CompositionError, match="at least one task vector"):
        ComposedModel(model, [])
    stranger = TaskVector({"backbone.nonexistent": torch.zeros(1)}, source="stranger")
    with pytest.raises(CompositionError, match="lacks"):
        ComposedModel(model, [stranger])
    other = _model()
    with torch.no_grad():
        other.head.fc1.weight.add_(1.0)
    with pytest.raises(CompositionError, match="other base weights"):
        ComposedModel(other, vectors)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_composition_on_cuda_matches_merge(case: Case) -> None:
    model, _, vectors = case
    composed = ComposedModel(model, vectors, CoefficientLayout.TENSOR, init=0.4).cuda().eval()
    images = IMAGES.cuda()
    composed(images).sum().backward()
    assert composed.coefficients.grad is not None
    with torch.no_grad():
        assert (composed(images) - composed.merge()(images)).abs().max() < 1e-5


def test_float16_task_vectors_compose_in_the_model_dtype(case: Case) -> None:
    model, _, vectors = case
    full = ComposedModel(model, vectors, CoefficientLayout.GLOBAL, init=0.5).eval()
    with torch.no_grad():
        expected = full(IMAGES)
    half = [v.to(torch.float16) for v in vectors]
    composed = ComposedModel(model, half, CoefficientLayout.GLOBAL, init=0.5).eval()
    stacks = [b for n, b in composed.named_buffers() if n.startswith("_delta")]
    assert stacks and all(b.dtype == torch.float32 for b in stacks)
    with torch.no_grad():
        assert (composed(IMAGES) - expected).abs().max() < 1e-3
