"""A population prior shipped in a release: the fit's start leans on it when the person has
rated few images, and the fit is pulled toward it."""

import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.cli import main
from tastevec.client.fast_fit import prior_blend
from tastevec.client.fit_config import DEFAULT_FIT_CONFIG
from tastevec.client.home import Home
from tastevec.client.personal_profile import load_profile
from tastevec.client.release_cache import load_current_release
from tastevec.client.zero_shot import initial_coefficients, start_temperature
from tastevec.common.coefficient_prior import CoefficientPrior
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import composed_tensor_names
from tastevec.common.release import sign_release, verify_release, write_blob
from tastevec.common.release_manifest import PriorEntry, new_release_id
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_private_key, load_public_key


def release_with_prior(release: Path, key: Path, folder: Path, mean: float) -> Path:
    out = folder / "with-prior"
    shutil.copytree(release, out)
    manifest = verify_release(out, load_public_key(key.with_name(key.name + ".pub")))
    base = load_release_model(out, manifest)
    vectors = load_release_task_vectors(out, manifest)
    names = composed_tensor_names(base.state_dict(), vectors)
    plan = CoefficientPlan.for_tensors(CoefficientLayout.GLOBAL, names)
    shape = (plan.num_groups, len(vectors))
    prior = CoefficientPrior(
        CoefficientLayout.GLOBAL, torch.full(shape, mean), torch.full(shape, 1e-6), people=12
    )
    ref = write_blob(out, prior.to_bytes())
    manifest = replace(manifest, priors=(PriorEntry("global", ref, 12),))
    digests = [blob.sha256 for blob in manifest.blobs()]
    manifest = replace(manifest, release_id=new_release_id(digests))
    sign_release(out, manifest, load_private_key(key))
    return out


def test_fit_follows_the_prior_of_the_release_unless_told_not_to(
    release: Path,
    release_key: Path,
    trust: Path,
    person_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped = release_with_prior(release, release_key, tmp_path, mean=0.37)
    home = tmp_path / "home"
    for args in (
        ["pull", "--from-dir", str(shipped), "--trust", str(trust)],
        ["rate", "--csv", str(person_csv), "--scale", "1-5"],
        ["fit", "--layout", "global"],
    ):
        assert main([args[0], "--home", str(home), *args[1:]]) == 0
    assert "prior from 12 people" in capsys.readouterr().out
    installed = load_current_release(Home(home))
    profile = load_profile(Home(home).profiles, installed.manifest.release_id)
    # 30 ratings, too few to cross-validate: the centre blends the person's own start (the
    # paper's initialisation from their ratings, tempered for 30 of them) with the prior's
    # mean, worth prior_ratings ratings; the fit steps from it under the prior's precision
    # (prior_weight), which this prior's tiny variance (1e-6) makes a pull that holds it at
    # the centre
    temperature = start_temperature(profile.ratings, DEFAULT_FIT_CONFIG.start_ratings)
    own_start = initial_coefficients(profile.summary["zero_shot_srocc"], temperature)
    weight = profile.ratings / (profile.ratings + DEFAULT_FIT_CONFIG.prior_ratings)
    expected = weight * own_start + (1 - weight) * 0.37
    assert profile.ratings == 30
    assert profile.summary["alpha"] == pytest.approx(DEFAULT_FIT_CONFIG.prior_weight * 1e6 / 30)
    assert torch.allclose(profile.coefficient_matrix()[0], expected, atol=1e-3)
    assert profile.summary["prior_people"] == 12
    assert main(["fit", "--home", str(home), "--layout", "global", "--no-prior"]) == 0
    free = load_profile(Home(home).profiles, installed.manifest.release_id)
    assert free.summary["prior_people"] is None
    # without the prior the fit steps from the person's own start alone, under the fixed
    # pull step_weight / ratings, within the trust region around it
    assert free.summary["alpha"] == pytest.approx(DEFAULT_FIT_CONFIG.step_weight / 30)
    shift = (free.coefficient_matrix()[0] - own_start).abs().max()
    assert 0 < shift <= DEFAULT_FIT_CONFIG.trust_radius + 1e-4
    assert not torch.allclose(free.coefficient_matrix(), profile.coefficient_matrix(), atol=0.01)


def test_the_prior_counts_as_a_number_of_ratings() -> None:
    own, mean = np.array([0.6, 0.4]), np.array([0.2, 0.8])
    assert np.allclose(prior_blend(own, mean, 10, worth=10.0), [0.4, 0.6])  # half each
    assert np.allclose(prior_blend(own, mean, 30, worth=10.0), [0.5, 0.5])  # 3/4 the person's
    assert np.allclose(prior_blend(own, mean, 5, worth=0.0), own)  # the prior ignored
    assert np.allclose(prior_blend(own, mean, 5, worth=math.inf), mean)  # the prior alone


def test_a_refit_after_a_new_prior_runs_no_image_again(
    release: Path, release_key: Path, trust: Path, person_csv: Path, tmp_path: Path
) -> None:
    """A release that differs only in its prior (a federated round's delta) names the same
    model, so the image values cached under the first release serve the refit."""
    shipped = release_with_prior(release, release_key, tmp_path, mean=0.37)
    first = verify_release(release, load_public_key(trust))
    second = verify_release(shipped, load_public_key(trust))
    assert first.release_id != second.release_id
    assert first.model_id == second.model_id
    home = tmp_path / "home"
    for args in (
        ["pull", "--from-dir", str(release), "--trust", str(trust)],
        ["rate", "--csv", str(person_csv), "--scale", "1-5"],
        ["fit", "--layout", "global"],
        ["pull", "--from-dir", str(shipped), "--trust", str(trust)],
        ["fit", "--layout", "global"],
    ):
        assert main([args[0], "--home", str(home), *args[1:]]) == 0
    before = load_profile(Home(home).profiles, first.release_id)
    after = load_profile(Home(home).profiles, second.release_id)
    assert before.summary["images_run"] == 30
    assert after.summary["images_run"] == 0
    assert after.summary["prior_people"] == 12
