"""`tastevec-sim bench linearised-own` on the small world: the linearised own scores follow
from the values' own score and Jacobian, and both fits are judged on the same supports."""

import re
from pathlib import Path

import numpy as np

from tastevec.client.image_cache import ImageValues
from tastevec.simulations.calibrations.linearised_own_scores import linearised_own
from tastevec.simulations.cli import main as sim_main


def test_an_own_score_is_the_first_order_model_at_that_vector_alone() -> None:
    jacobian = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], np.float32)  # [tensors, K]
    values = ImageValues(0.25, np.zeros(3, np.float32), jacobian)
    # s(e_k) ~= s(1/K) + sum_t J[t] . (e_k - 1/K)
    expected = [0.25 + (jacobian @ (np.eye(3)[k] - 1 / 3)).sum() for k in range(3)]
    assert np.allclose(linearised_own(values).single_scores, expected)
    assert linearised_own(values).jacobian is values.jacobian


def test_both_fits_are_measured_on_development_people(
    world: Path, release: Path, trust: Path, tmp_path: Path
) -> None:
    out = tmp_path / "linearised.md"
    args = ["bench", "linearised-own", "--world", str(world), "--release", str(release)]
    assert sim_main([*args, "--trust", str(trust), "--draws", "1", "--out", str(out)]) == 0
    report = out.read_text()
    agreement = re.findall(r"^\| (\w+) \| ([+-]?\d\.\d{3}) \|$", report, re.M)
    assert len(agreement) == 6 and all(-1 <= float(v) <= 1 for _, v in agreement)
    row = re.search(r"^\| linearised own scores \| (.+) \|$", report, re.M)
    assert row is not None
    gains = re.findall(r"\(([+-]\d\.\d{3}) \[([+-]\d\.\d{3}), ([+-]\d\.\d{3})\]\)", row.group(1))
    assert len(gains) == 2  # 5 and 10 shots: a small-world person has 24 images
    assert all(float(low) <= float(gain) <= float(high) for gain, low, high in gains)
