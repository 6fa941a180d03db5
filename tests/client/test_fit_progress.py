"""The fit's progress: parts mapped onto their shares, never falling, and the device's real
fit (`fit_profile`, as `tastevec-client fit`, the page and the ClientApp run it) reporting
each stage with its counts, monotone, ending at 1.0."""

from pathlib import Path

import pytest

from tastevec.client import fitting
from tastevec.client.fast_fit import EMBED_STAGE
from tastevec.client.fit_config import FitConfig
from tastevec.client.fit_options import FitMode
from tastevec.client.fit_progress import FitProgress, monotone, report, within
from tastevec.client.home import Home
from tastevec.client.personal_fit import COEFFICIENTS_STAGE, CORRECTION_STAGE
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.errors import FitError


def test_a_part_reports_over_its_share_and_the_listener_never_sees_it_fall() -> None:
    heard: list[FitProgress] = []
    outer = monotone(heard.append)
    part = within(outer, 0.2, 0.6)
    report(part, "embedding", 0, 4)
    report(part, "embedding", 2, 4)
    report(part, "embedding", 4, 4)
    report(within(outer, 0.0, 0.1), "late news", 1, 1)  # would go back: held at the top
    assert [h.fraction for h in heard] == pytest.approx([0.2, 0.4, 0.6, 0.6])
    assert [(h.done, h.total) for h in heard] == [(0, 4), (2, 4), (4, 4), (1, 1)]
    report(None, "nobody listens", 1, 2)  # no callback: nothing happens
    report(outer, "nothing to do", 0, 0)
    assert heard[-1].fraction == 1.0
    with pytest.raises(FitError, match="not within 0-1"):
        within(outer, 0.5, 0.4)
    with pytest.raises(FitError, match="not a count"):
        FitProgress("x", 3, 2, 0.5)


@pytest.mark.parametrize("correct_from", [20, 50])  # 30 ratings: with and without correction
def test_the_device_fit_reports_each_stage_monotone_to_one(
    rated_home: Path, correct_from: int
) -> None:
    heard: list[FitProgress] = []
    config = FitConfig(correct_from_ratings=correct_from)
    outcome = fitting.fit_profile(
        Home(rated_home),
        FitMode.FAST,
        CoefficientLayout.BLOCK,
        config=config,
        progress=heard.append,
    )
    fractions = [h.fraction for h in heard]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert heard[0].stage == fitting.LOAD_STAGE and heard[-1].stage == fitting.SAVE_STAGE
    embedded = [(h.done, h.total) for h in heard if h.stage == EMBED_STAGE]
    assert embedded[0] == (0, 30) and embedded[-1] == (30, 30)  # a cold cache: all 30 run
    assert len(embedded) >= 3  # batch by batch, not once at the end
    assert any(h.stage == COEFFICIENTS_STAGE for h in heard)
    corrected = [h for h in heard if h.stage == CORRECTION_STAGE]
    assert bool(corrected) == (correct_from <= 30) == (outcome.profile.correction is not None)
    assert outcome.profile.ratings == 30

    again: list[FitProgress] = []  # a refit: every image's values come from the cache
    fitting.fit_profile(
        Home(rated_home), FitMode.FAST, CoefficientLayout.BLOCK, progress=again.append
    )
    assert [(h.done, h.total) for h in again if h.stage == EMBED_STAGE] == [(0, 0)]
    assert again[-1].fraction == 1.0
