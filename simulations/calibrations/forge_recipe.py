"""Does a longer forge help the people who personalize with its task vectors? Measured on
development test people only (`tastevec-sim bench forge-recipe`).

Two releases forged from the same world and base, the default recipe and a candidate (the
forge's notes found 8 epochs at backbone lr 3e-4 better for the quality vectors on their own
test splits). Each is judged twice: by its vectors' own test SROCC (the manifest's, as the
forge measured it), and by the device's default fit (fast, block layout, no prior) on the
world's development test people, every release on the same supports, scored with the real
merged model on each person's other images. A recipe helps personalization where the
per-person gain's 95 % interval over people is above zero.
"""

from __future__ import annotations

import time
from pathlib import Path

from tastevec.common.errors import ReleaseError
from tastevec.common.release import verify_release
from tastevec.common.release_manifest import Manifest
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_public_key
from tastevec.simulations.people.people_split import split_people
from tastevec.simulations.people.personalize_people import TEST_GROUPS, load_people
from tastevec.simulations.people.prior_evaluation import PersonScores, merged, with_vectors
from tastevec.simulations.tools.machine import describe_machine, machine_table

SHOTS = (5, 10, 20, 50, 100)
BASELINE, CANDIDATE = "default recipe", "candidate recipe"


def run_forge_recipe(
    world: Path, baseline: Path, candidate: Path, trust: Path, draws: int = 3, seed: int = 0
) -> str:
    started = time.perf_counter()
    key = load_public_key(trust)
    people = split_people(load_people(world, TEST_GROUPS, None), "development")
    manifests, parts = [], []
    for label, release in ((BASELINE, baseline), (CANDIDATE, candidate)):
        manifest = verify_release(release, key)
        base = load_release_model(release, manifest).eval()
        vectors = load_release_task_vectors(release, manifest)
        parts.append(with_vectors(people, base, vectors, label, SHOTS, draws, seed))
        manifests.append(manifest)
    if manifests[0].backbone.base_digest != manifests[1].backbone.base_digest:
        raise ReleaseError(
            f"{baseline} and {candidate} are forged on different base models: "
            "their recipes cannot be compared"
        )
    scores = merged(parts)
    lines = [
        "# The forge's recipe and personalization",
        "",
        "**The ratings are simulated** (the photo world), not human.",
        "",
        f"World `{world.name}`. The world's {len(people)} **development** test people only "
        f"(a calibration: the final people are for the reports), {draws} random supports per "
        "person and shots, the same for both releases; the device's default fit (fast, block "
        "layout, no prior), scored with the real merged model on the person's other images.",
        "",
        *machine_table(describe_machine()),
        "",
        "## The recipes",
        "",
        "| | release | recipe |",
        "|---|---|---|",
        *(
            f"| {label} | `{m.release_id}` | {recipe(m)} |"
            for label, m in zip((BASELINE, CANDIDATE), manifests, strict=True)
        ),
        "",
        *own_tests(manifests[0], manifests[1]),
        *personalization(scores),
        f"Whole run: {time.perf_counter() - started:.0f} s.",
        "",
    ]
    return "\n".join(lines)


def recipe(manifest: Manifest) -> str:
    """The training settings the recipes may differ in, as the first vector's record says."""
    training = manifest.task_vectors[0].training
    keys = ("epochs", "steps", "lr", "head_lr", "image_size", "batch_size", "loss", "scope")
    return ", ".join(f"{k} {training[k]}" for k in keys if training.get(k) is not None)


def own_tests(baseline: Manifest, candidate: Manifest) -> list[str]:
    """Each vector's SROCC on its own database's test split, as the forge measured it."""
    theirs = {v.source: v.metrics.get("srocc") for v in candidate.task_vectors}
    lines = [
        "## Each vector on its own database's test split (the forge's figure)",
        "",
        f"| database | {BASELINE} SROCC | {CANDIDATE} SROCC | change |",
        "|---|---|---|---|",
    ]
    for vector in baseline.task_vectors:
        mine, other = vector.metrics.get("srocc"), theirs.get(vector.source)
        if mine is None or other is None:
            continue
        lines.append(f"| {vector.source} | {mine:.3f} | {other:.3f} | {other - mine:+.3f} |")
    return [*lines, ""]


def personalization(scores: PersonScores) -> list[str]:
    shots = scores.measured(BASELINE, SHOTS)
    intervals = {s: scores.gain(CANDIDATE, BASELINE, s)[1:] for s in shots}
    helped = [s for s in shots if intervals[s][0] > 0]
    hurt = [s for s in shots if intervals[s][1] < 0]
    verdict = (
        f"the candidate helps at {', '.join(map(str, helped))} shots"
        if helped
        else "the candidate helps at no shot count"
    ) + (f" and hurts at {', '.join(map(str, hurt))}" if hurt else "")
    return [
        "## Personalization",
        "",
        "Mean SROCC, and in brackets the candidate's gain per person with its 95 % interval "
        "over people:",
        "",
        "| release | " + " | ".join(f"{s} shots" for s in shots) + " |",
        "|---|" + "---|" * len(shots),
        *scores.gain_rows(BASELINE, [CANDIDATE], shots),
        "",
        f"Verdict (interval above / below zero): {verdict}.",
        "",
    ]
