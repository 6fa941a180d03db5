"""What a task vector's scope and encoding cost the people who personalize with it.

The forge benchmark ships each set of task vectors in every encoding; here the client's
default fit (fast, block layout, with the feature correction from 50 ratings on, as the device
fits) runs on the photo world's held-out test people with each set, and its personal models
are scored with the real merged model on each person's held-out ratings. Every set sees the
same people and the same support draws, so the figures compare side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tastevec.common.coefficients import CoefficientLayout, CoefficientPlan
from tastevec.common.composition import ComposedModel, composed_tensor_names
from tastevec.common.metrics import srocc
from tastevec.common.score_model import ScoreModel
from tastevec.common.task_vector import TaskVector
from tastevec.simulations.people.personalize_people import (
    Person,
    build_table,
    personal_scores,
    safe_metric,
)

LAYOUT = CoefficientLayout.BLOCK  # the client's default


@dataclass(frozen=True, slots=True)
class PersonalizationSettings:
    shots: tuple[int, ...] = (10, 100)
    draws: int = 3
    seed: int = 0


def personalization_srocc(
    base: ScoreModel,
    vectors: Sequence[TaskVector],
    people: Sequence[Person],
    settings: PersonalizationSettings,
) -> dict[int, list[float]]:
    """{shots: held-out SROCC of each fit} of the fast fit with `vectors`, person by person
    and draw by draw (the same order for every set of vectors). A person with fewer than
    shots + 5 ratings is left out at that number of shots."""
    table = build_table(people, base, vectors, None, None)
    plan = CoefficientPlan.for_tensors(LAYOUT, composed_tensor_names(base.state_dict(), vectors))
    composed = ComposedModel(base, vectors, LAYOUT)
    rng = np.random.default_rng(settings.seed)  # the same draws for every set of vectors
    found: dict[int, list[float]] = {shots: [] for shots in settings.shots}
    for person in people:
        rows = table.rows(person)
        for shots in settings.shots:
            for _ in range(settings.draws):
                order = rng.permutation(len(rows))  # drawn even when skipped: same stream
                if shots > len(rows) - 5:
                    continue
                support, held = order[:shots], order[shots:]
                values = [table.values[i] for i in rows[support]]
                scores = personal_scores(
                    composed,
                    values,
                    person.targets[support],
                    plan,
                    table.pixels_of(rows[support]),
                    table.pixels_of(rows[held]),
                )
                found[shots].append(safe_metric(srocc, scores.held, person.targets[held]))
    return {shots: scores for shots, scores in found.items() if scores}
