"""`tastevec-sim bench coefficient-fit` on the small world: every way solves the same
supports, and a re-linearised fit really is expanded where the values were re-taken."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tastevec.client.fast_fit import ImageValuer
from tastevec.client.fit_config import FitConfig
from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import composed_tensor_names
from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.calibrations.coefficient_fit import PointValuer
from tastevec.simulations.cli import main as sim_main
from tastevec.simulations.people import personalize_people


def test_values_at_one_over_k_are_the_cached_ones(release: Path, trust: Path) -> None:
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest).eval()
    vectors = load_release_task_vectors(release, manifest)
    names = composed_tensor_names(base.state_dict(), vectors)
    plan = CoefficientPlan.for_tensors(CoefficientLayout.BLOCK, names)
    size = base.preprocessing.input_size
    pixels = torch.rand(3, 3, size, size)
    cached = ImageValuer(base, vectors)(pixels)
    k = len(vectors)
    again = PointValuer(base, vectors, plan)(
        torch.full((plan.num_groups, k), 1.0 / k), cached, pixels
    )
    for before, after in zip(cached, again, strict=True):
        assert after.score == pytest.approx(before.score, abs=1e-5)
        assert np.allclose(after.jacobian, before.jacobian, atol=1e-5)
        assert after.single_scores is before.single_scores
    moved = PointValuer(base, vectors, plan)(
        torch.eye(k)[:1].expand(plan.num_groups, k), cached, pixels
    )
    own = np.stack([v.single_scores for v in cached])[:, 0]
    assert np.allclose([v.score for v in moved], own, atol=1e-4)  # all on the first vector


def test_every_way_is_measured_on_development_people(
    world: Path, release: Path, trust: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a small-world person rates 24 images: let the fit step from 10
    config = FitConfig(step_from_ratings=10, correct_from_ratings=1000)
    monkeypatch.setattr(personalize_people, "FIT_CONFIG", config)
    out = tmp_path / "ways.md"
    args = ["bench", "coefficient-fit", "--world", str(world), "--release", str(release)]
    args += ["--trust", str(trust), "--shots", "12", "18", "--out", str(out)]
    assert sim_main(args) == 0
    report = out.read_text()
    assert "**development**" in report
    for way in ("radius 1", "expanded at the centre", "re-linearised once"):
        row = re.search(rf"^\| {way} \| (.+) \|$", report, re.M)
        assert row is not None, way
        gains = re.findall(
            r"\(([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]\)", row.group(1)
        )
        assert len(gains) == 2
        assert all(float(low) <= float(gain) <= float(high) for gain, low, high in gains)
    shifts = re.findall(r"^\| default \(at 1/K\) \| (\d\.\d{3}) \| (\d\.\d{3}) \| ", report, re.M)
    assert shifts and all(float(s) <= 0.3 + 1e-6 for s in shifts[0])  # inside the trust region
