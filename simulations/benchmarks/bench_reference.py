"""`tastevec-sim bench reference`: the fast fit against the paper's reference fit at the
release's own image size. `bench personalize --reference-people N` makes the same comparison,
with the same people and supports, at a reduced size to fit its CPU budget."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from tastevec.common.release import verify_release
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.benchmarks.reference_comparison import (
    CORRECTED_REFERENCE,
    ReferenceRow,
    ReferenceSettings,
    compare_with_reference,
    person_table,
    reference_table,
    reference_target_lines,
)
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    bench_fit_config,
    load_people,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table

log = logging.getLogger(__name__)


def run_reference_benchmark(
    world: Path, release: Path, trust: Path, settings: ReferenceSettings
) -> str:
    torch.manual_seed(settings.seed)
    manifest = verify_release(release, load_public_key(trust))
    base = load_release_model(release, manifest)
    vectors = load_release_task_vectors(release, manifest)
    people = split_people(load_people(world, TEST_GROUPS, None), settings.which)
    size = settings.image_size or base.preprocessing.input_size
    log.info("fast against reference at %d px", size)
    rows = compare_with_reference(people, base, vectors, settings)
    return _report(world, manifest.release_id, base.preprocessing.input_size, size, settings, rows)


def _report(
    world: Path,
    release_id: str,
    release_size: int,
    size: int,
    settings: ReferenceSettings,
    rows: list[ReferenceRow],
) -> str:
    if not rows:
        return "# Fast against reference\n\nNo test person has enough ratings.\n"
    names = {r.person for r in rows}
    at = "the release's own size" if size == release_size else f"the release's is {release_size}"
    lines = [
        "# Fast against reference",
        "",
        "The ratings are **simulated**: each test person is a defined rater model over real "
        "photos and their edits (see the world card), not a person.",
        "",
        f"World `{world}`, release `{release_id}`. {len(names)} of the world's "
        + (
            "**final** test people, evaluated once for this report"
            if settings.which == "final"
            else "**development** test people"
        )
        + ", taken in turn from each test group, one support draw per number of shots "
        "(the personalization "
        f"benchmark's comparison uses the same people and supports); both modes at {size} px "
        f"({at}). Cold: the fast fit's time includes computing every support image's values "
        f"and, from {bench_fit_config().correct_from_ratings} ratings on"
        f", the feature correction; `coefficients "
        "only` is the same fit scored without it. The reference is the paper's fit: "
        f"per-tensor coefficients, pairwise rank loss, AdamW, {settings.steps} steps of 32; "
        f"`{CORRECTED_REFERENCE}` is it with the device's feature correction fitted on top "
        "(the same code, on the same support), so that each fast fit meets the reference "
        "like with like. "
        "Each fit is scored (SROCC) on the person's remaining images with the real merged "
        "model.",
        "",
        *machine_table(describe_machine()),
        "",
        "## Mean over people",
        "",
        *reference_table(rows),
    ]
    for shots in sorted({r.shots for r in rows}):
        lines += ["", f"## Each person at {shots} shots", "", *person_table(rows, shots)]
    lines += ["", "## Targets", "", *reference_target_lines(rows)]
    return "\n".join(lines) + "\n"
