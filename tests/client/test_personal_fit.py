"""The device's one fit pipeline: coefficients, then from `correct_from_ratings` on the
correction; the config decides, is validated and round-trips through a profile's dict."""

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.fast_fit import fit_values, image_values
from tastevec.client.fit_config import FitConfig
from tastevec.client.personal_fit import PixelImages, fit_personal_model, merger
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.errors import FitError
from tastevec.common.images import iter_image_batches
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key


@pytest.fixture(scope="module")
def support(release: Path, trust: Path, person_csv: Path):  # type: ignore[no-untyped-def]
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    rows = list(csv.DictReader(person_csv.open()))
    paths = [Path(r["image"]) for r in rows]
    targets = np.array([(float(r["score"]) - 1) / 4 for r in rows])
    batch = next(iter_image_batches(paths, base.preprocessing.transform(), batch_size=64))
    values = image_values(base, vectors, batch.images)
    plan = CoefficientPlan.for_tensors(
        CoefficientLayout.BLOCK, composed_tensor_names(base.state_dict(), vectors)
    )
    return base, vectors, values, targets, batch.images, plan


def test_below_the_threshold_no_model_is_merged_and_the_fit_is_the_coefficients(
    support,  # type: ignore[no-untyped-def]
) -> None:
    _, _, values, targets, pixels, plan = support

    def refuse(coefficients: torch.Tensor):  # type: ignore[no-untyped-def]
        raise AssertionError("merged below the correction's threshold")

    model = fit_personal_model(values, targets, plan, merge=refuse, images=PixelImages(pixels))
    assert model.correction is None and model.merged is None
    assert torch.equal(model.solution.coefficients, fit_values(values, targets, plan).coefficients)
    assert model.config == FitConfig() and model.correction_seconds == 0.0


def test_from_the_threshold_on_the_correction_is_fitted_on_the_merged_model(
    support,  # type: ignore[no-untyped-def]
) -> None:
    base, vectors, values, targets, pixels, plan = support
    config = FitConfig(correct_from_ratings=20)
    composed = ComposedModel(base, vectors, plan.layout)
    model = fit_personal_model(
        values, targets, plan, None, config, merge=merger(composed), images=PixelImages(pixels)
    )
    assert model.merged is not None and model.correction is not None
    assert model.correction.weights.shape == (base.backbone.num_features,)
    scores = model.scores(model.merged, pixels)
    uncorrected = model.merged(pixels).detach().double().numpy()
    assert scores.shape == (len(targets),) and not np.allclose(scores, uncorrected)
    # the config is what decides: a wider trust region lets the same ratings move further
    still = fit_values(values, targets, plan, config=dataclasses.replace(config, trust_radius=0))
    centre = fit_values(
        values,
        targets,
        plan,
        config=dataclasses.replace(config, step_from_ratings=10**9, step_weight=math.inf),
    )
    assert torch.allclose(still.coefficients, centre.coefficients, atol=1e-6)


def test_below_the_step_threshold_a_prior_weight_steps_under_the_priors_precision(
    support,  # type: ignore[no-untyped-def]
) -> None:
    _, vectors, values, targets, _, plan = support
    few, rated = values[:10], targets[:10]
    shape = (plan.num_groups, len(vectors))
    prior = CoefficientPrior(plan.layout, torch.full(shape, 0.2), torch.full(shape, 0.01), 50)
    held = FitConfig(prior_weight=math.inf)  # the centre itself
    centre = fit_values(few, rated, plan, prior=prior, config=held)
    assert np.isinf(centre.alpha)
    assert fit_values(few, rated, plan, prior=prior).alpha == pytest.approx(
        FitConfig().prior_weight * 100 / 10
    )  # the default steps
    steps = {
        weight: fit_values(few, rated, plan, prior=prior, config=FitConfig(prior_weight=weight))
        for weight in (0.01, 1.0, 1e6)
    }
    assert steps[0.01].alpha == pytest.approx(0.01 * 100 / 10)  # weight x precision / ratings
    moved = {w: float((s.coefficients - centre.coefficients).abs().max()) for w, s in steps.items()}
    assert moved[0.01] > moved[1.0] > moved[1e6] and moved[1e6] < 1e-3
    assert moved[0.01] <= FitConfig().trust_radius + 1e-6
    keep = FitConfig(prior_weight=0.01, step_weight=math.inf)
    without = fit_values(few, rated, plan, config=keep)
    assert np.isinf(without.alpha)  # no prior to weigh, no step of its own: the centre
    assert fit_values(few, rated, plan).alpha == pytest.approx(FitConfig().step_weight / 10)
    stepped = fit_values(few, rated, plan, config=FitConfig(step_weight=1.0))
    assert stepped.alpha == pytest.approx(1.0 / 10)  # step_weight / ratings, no prior needed
    assert not torch.equal(stepped.coefficients, without.coefficients)


def test_the_config_is_validated_and_round_trips() -> None:
    config = FitConfig(trust_radius=0.5, correct_from_ratings=7)
    assert FitConfig.from_dict(config.to_dict()) == config
    for weight in (math.inf, 3.0):  # the profile is plain JSON, inf included
        document = json.loads(
            json.dumps(FitConfig(prior_weight=weight).to_dict()), parse_constant=_refuse
        )
        assert FitConfig.from_dict(document).prior_weight == weight
    with pytest.raises(FitError, match="trust_radius"):
        FitConfig(trust_radius=-1)
    with pytest.raises(FitError, match="unknown settings"):
        FitConfig.from_dict({"radius": 1})


def _refuse(constant: str) -> float:
    raise AssertionError(f"the profile holds {constant}, which is not JSON")
