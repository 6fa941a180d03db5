"""`tastevec-sim bench forge`: forge the photo world's task vectors and measure them.

Four forges over the same world, base and settings, differing only in what they tune or see:
`all` (the release), `head` (the baseline: the base model with a freshly trained head),
`top-N` (the last N blocks + head: a small vector), all three on the backbone's centre crop,
and `all` once more on the whole image squashed to the square. Then each vector of `all` and
`top-N` is stored in every encoding, read back and evaluated again, for size against accuracy,
and the held-out test people personalize with each set (what a scope or an encoding costs a
person). The ratings are simulated (the photo world), and the report says so.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tastevec.common.datasets.catalog import load_image_scores
from tastevec.common.datasets.records import ScoredImage
from tastevec.common.device import default_device
from tastevec.common.errors import TastevecError
from tastevec.common.release import verify_release
from tastevec.common.release_manifest import Manifest
from tastevec.common.release_model import load_release_model, load_release_task_vectors
from tastevec.common.signing import load_private_key
from tastevec.common.task_vector import TaskVector
from tastevec.server.evaluation import evaluate, predict
from tastevec.server.forge import TEST_SPLIT, forge_release
from tastevec.server.forge_config import ForgeConfig, parse_forge_config
from tastevec.server.keys import generate_key_pair
from tastevec.simulations.benchmarks.forge_personalization import (
    LAYOUT,
    PersonalizationSettings,
    personalization_srocc,
)
from tastevec.simulations.people.personalize_people import (
    TEST_GROUPS,
    Person,
    bench_fit_config,
    load_people,
)
from tastevec.simulations.tools.machine import describe_machine, machine_table
from tastevec.simulations.tools.paired_bootstrap import srocc_gain_interval
from tastevec.simulations.world.build import FIGURES_FILE as CARD_FIGURES

log = logging.getLogger(__name__)

WHOLE_IMAGE = "all whole-image"
ENCODINGS = ("float32", "float16", "int8", "topk-20", "topk-5")


@dataclass(frozen=True, slots=True)
class ScopeRun:
    scope: str
    release: Path
    work: Path
    manifest: Manifest
    wall_seconds: float


def run_forge_benchmark(
    world: Path,
    scratch: Path,
    *,
    image_size: int = 128,
    epochs: int = 3,
    batch_size: int = 32,
    top: int = 2,
    encodings: tuple[str, ...] = ENCODINGS,
    people_per_group: int = 4,
    personalization: PersonalizationSettings | None = None,
) -> str:
    """Run the four forges and the encoding sweep; return the report (markdown).
    `people_per_group`: test people of each group who personalize with every encoding (0:
    none)."""
    key_file = scratch / "bench-key"  # kept, so that a rerun can verify and reuse releases
    if not key_file.exists():
        generate_key_pair(key_file)
    key = load_private_key(key_file)
    training = {
        "image_size": image_size,
        "epochs": epochs,
        "batch_size": batch_size,
        "checkpoint_every": 20,
    }
    runs, configs = {}, {}
    for label, scope, whole_image in (
        ("all", "all", False),
        ("head", "head", False),
        (f"top-{top}", f"top-{top}", False),
        (WHOLE_IMAGE, "all", True),
    ):
        config = parse_forge_config(
            {
                "world": str(world.resolve()),
                "training": {**training, "scope": scope, "whole_image": whole_image},
                "release": {"encoding": "float32"},
            },
            base_dir=scratch,
        )
        folder = label.replace(" ", "-")
        release, work = scratch / f"release-{folder}", scratch / f"work-{folder}"
        started = time.perf_counter()
        if not (release / "manifest.json").exists():
            forge_release(config, release, private_key=key, work_dir=work)
        manifest = verify_release(release, key.public_key())
        if manifest.notes.get("forge") != config.to_dict():
            raise TastevecError(f"{release} was forged with other settings; use a new scratch")
        runs[label] = ScopeRun(label, release, work, manifest, time.perf_counter() - started)
        configs[label] = config
    tests = _test_splits(configs["all"])  # every forge saw the same databases
    intervals = _gain_intervals(tests, runs["all"], runs["head"])
    personalization = personalization or PersonalizationSettings()
    people = load_people(world, TEST_GROUPS, people_per_group) if people_per_group else []
    sweep = {
        scope: _encoding_sweep(runs[scope], tests, encodings, people, personalization)
        for scope in ("all", f"top-{top}")
    }
    return _report(
        world, configs["all"], runs, intervals, sweep, top, encodings, people, personalization
    )


def _test_splits(config: ForgeConfig) -> dict[str, tuple[ScoredImage, ...]]:
    """{database: its test split}, in the config's order."""
    return {
        database.name: load_image_scores(
            database.name, database.root, **dict(database.options)
        ).split(TEST_SPLIT)
        for database in config.databases
    }


def _gain_intervals(
    tests: dict[str, tuple[ScoredImage, ...]], full: ScopeRun, head: ScopeRun
) -> dict[str, tuple[float, float]]:
    """{database: 95 % paired bootstrap interval of the full fine-tune's SROCC gain over the
    head-only baseline}, both scoring the same test images."""
    device = default_device()
    models = {}
    for run in (full, head):
        model = load_release_model(run.release, run.manifest).to(device)
        base = {k: v.clone() for k, v in model.state_dict().items()}
        vectors = {v.source: v for v in load_release_task_vectors(run.release, run.manifest)}
        models[run.scope] = (model, base, vectors)
    intervals = {}
    for name, items in tests.items():
        found = {}
        for scope, (model, base, vectors) in models.items():
            model.load_state_dict(vectors[name].apply_to(base))
            found[scope] = predict(model, items, model.preprocessing, device=device)
        truth = [item.score for item in items]
        intervals[name] = srocc_gain_interval(found[head.scope], found[full.scope], truth)
    return intervals


@dataclass(frozen=True, slots=True)
class Sweep:
    """One scope's vectors in every encoding: {database: {encoding: {"bytes", "srocc",
    "plcc"}}} on each database's test split, and {encoding: {shots: [SROCC of each fit]}}
    of the test people's personal models."""

    databases: dict[str, dict[str, dict[str, float]]]
    personal: dict[str, dict[int, list[float]]]


def _encoding_sweep(
    run: ScopeRun,
    tests: dict[str, tuple[ScoredImage, ...]],
    encodings: tuple[str, ...],
    people: Sequence[Person],
    personalization: PersonalizationSettings,
) -> Sweep:
    """Each vector written in each encoding, read back and evaluated again; then the test
    people personalize with the whole set in that encoding (on the CPU, as a device would)."""
    device = default_device()
    model = load_release_model(run.release, run.manifest).to(device)
    personal_base = load_release_model(run.release, run.manifest)
    base = {k: v.clone() for k, v in model.state_dict().items()}
    vectors = {
        name: TaskVector.load(run.work / f"{name}.task-vector.safetensors") for name in tests
    }
    sweep = Sweep({name: {} for name in vectors}, {})
    for encoding in encodings:
        shipped = []
        for name, vector in vectors.items():
            data = vector.to_bytes(encoding)
            shipped.append(TaskVector.from_bytes(data, origin=f"{name} {encoding}"))
            model.load_state_dict(shipped[-1].apply_to(base))
            metrics = evaluate(model, tests[name], model.preprocessing, device=device)
            sweep.databases[name][encoding] = {"bytes": len(data), **metrics}
            log.info("%s %s %s: %s", run.scope, name, encoding, metrics)
        if people:
            sweep.personal[encoding] = personalization_srocc(
                personal_base, shipped, people, personalization
            )
            means = {n: round(float(np.mean(v)), 4) for n, v in sweep.personal[encoding].items()}
            log.info("%s %s personal: %s", run.scope, encoding, means)
    return sweep


def _signed(value: float) -> str:
    """+0.0123 / -0.0123, and 0.0000 for what rounds to zero (no "-0.0000")."""
    return "0.0000" if abs(value) < 5e-5 else f"{value:+.4f}"


def _report(
    world: Path,
    config: ForgeConfig,
    runs: dict[str, ScopeRun],
    intervals: dict[str, tuple[float, float]],
    sweep: dict[str, Sweep],
    top: int,
    encodings: tuple[str, ...],
    people: Sequence[Person],
    personalization: PersonalizationSettings,
) -> str:
    full, head, small = runs["all"].manifest, runs["head"].manifest, runs[f"top-{top}"].manifest
    whole = runs[WHOLE_IMAGE].manifest
    t = config.training
    lines = [
        "# Forge benchmark: task vectors of the photo world",
        "",
        "The ratings are **simulated**: the photo world's databases are rated by defined raters",
        "over real photos and their edits (see its world card), not by people.",
        "",
        f"World: `{world}`. Backbone `{config.backbone.name}` ({config.backbone.weights} "
        f"weights), `{config.head}` head, loss `{t.loss}`, AdamW lr {t.lr} / head {t.head_lr}, "
        f"weight decay {t.weight_decay}, cosine schedule, {t.epochs} epochs, batch "
        f"{t.batch_size}, {t.image_size} px (the backbone's centre crop, except the "
        f"`{WHOLE_IMAGE}` forge: the whole image squashed to the square), seed {t.seed}. "
        "Each forge starts from the same base weights and head initialisation; metrics are on "
        "each database's test split.",
        "",
        *machine_table(describe_machine()),
        "",
        "## Time to forge each task vector (scope `all`, this CPU)",
        "",
        "| database | train images | steps | seconds | images/s |",
        "|---|---|---|---|---|",
    ]
    for entry in full.task_vectors:
        tr = entry.training
        lines.append(
            f"| {entry.source} | {tr['train_images']} | {tr['steps']} | {tr['seconds']:.0f} "
            f"| {tr['images_per_second']:.1f} |"
        )
    lines += [
        "",
        "Same forges with other scopes, images/s (the forward pass still runs through the "
        "whole backbone):",
        "",
        "| scope | mean images/s | total training seconds | parameters tuned |",
        "|---|---|---|---|",
    ]
    for run in runs.values():
        vectors = run.manifest.task_vectors
        rate = statistics.mean(e.training["images_per_second"] for e in vectors)
        seconds = sum(e.training["seconds"] for e in vectors)
        lines.append(f"| {run.scope} | {rate:.1f} | {seconds:.0f} | {vectors[0].parameters:,} |")
    lines += [
        "",
        "## Accuracy: fine-tuned vs a freshly trained head on the frozen base",
        "",
        "Agreement is the world card's split-half inter-rater SROCC of the database: how well "
        "half of its raters predict the other half. The gain's interval is the 95 % paired "
        "bootstrap interval (2,000 resamples of the test images, both models scoring the same "
        "images); the fine-tune is clearly better where the whole interval is above zero.",
        "",
        f"| database | agreement | head only SROCC | all SROCC | gain | gain, 95 % interval "
        f"| clearly better | top-{top} SROCC | all PLCC | all, whole image SROCC |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    card = json.loads((world / CARD_FIGURES).read_text())["databases"]
    gains, clearly = [], []
    for entry in full.task_vectors:
        base_only = head.task_vector(entry.source).metrics["srocc"]
        reduced = small.task_vector(entry.source).metrics["srocc"]
        squashed = whole.task_vector(entry.source).metrics["srocc"]
        gain = entry.metrics["srocc"] - base_only
        gains.append(gain)
        low, high = intervals[entry.source]
        if low > 0:
            clearly.append(entry.source)
        lines.append(
            f"| {entry.source} | {card[entry.source]['agreement']:.3f} | {base_only:.3f} "
            f"| {entry.metrics['srocc']:.3f} | {gain:+.3f} | {low:+.3f} to {high:+.3f} "
            f"| {'yes' if low > 0 else 'no'} | {reduced:.3f} | {entry.metrics['plcc']:.3f} "
            f"| {squashed:.3f} |"
        )
    lines += [
        "",
        f"Mean gain of the full fine-tune over the head-only baseline: "
        f"**{statistics.mean(gains):+.3f} SROCC** (smallest {min(gains):+.3f}). Clearly better "
        f"on **{len(clearly)} of {len(gains)}** databases"
        + (f" ({', '.join(clearly)})." if clearly else "."),
        "",
        "## Task vector size per scope and encoding, and its accuracy cost",
        "",
        "Size is one task vector's file (mean over the databases); the cost is the mean change "
        "in test SROCC against the same vector in float32.",
        "",
        "| scope | encoding | MB per vector | vs float32 size | mean SROCC | SROCC cost |",
        "|---|---|---|---|---|---|",
    ]
    for scope, scope_sweep in sweep.items():
        results = scope_sweep.databases
        reference_size = statistics.mean(r["float32"]["bytes"] for r in results.values())
        reference = statistics.mean(r["float32"]["srocc"] for r in results.values())
        for encoding in encodings:
            size = statistics.mean(r[encoding]["bytes"] for r in results.values())
            accuracy = statistics.mean(r[encoding]["srocc"] for r in results.values())
            lines.append(
                f"| {scope} | {encoding} | {size / 1e6:.2f} | {size / reference_size:.3f} "
                f"| {accuracy:.3f} | {_signed(accuracy - reference)} |"
            )
    lines += ["", *_personal_lines(sweep, encodings, people, personalization), ""]
    lines += [
        "Wall time of each forge in this run, including loading, evaluation and release "
        "writing: "
        + ", ".join(f"{run.scope} {run.wall_seconds:.0f} s" for run in runs.values())
        + ". A forge whose release was already in the scratch folder (same settings, checked) "
        "is verified and reused: its wall time here is the verification, and its training "
        "figures above are those recorded in its manifest when it was forged.",
        "",
    ]
    return "\n".join(lines)


def _personal_lines(
    sweep: dict[str, Sweep],
    encodings: tuple[str, ...],
    people: Sequence[Person],
    settings: PersonalizationSettings,
) -> list[str]:
    """The personalization accuracy of each scope and encoding, against `all` in float32."""
    if not people:
        return ["Personalization accuracy per scope and encoding: not measured in this run."]
    shots = [n for n in settings.shots if n in sweep["all"].personal.get("float32", {})]
    groups = ", ".join(sorted({p.group for p in people}))
    lines = [
        "## Personalization accuracy per scope and encoding",
        "",
        f"{len(people)} held-out test people ({groups}), {settings.draws} random support "
        "draws at each number of shots, the same people and draws for every row. Each fits "
        f"the client's default model (fast, {LAYOUT.value} layout, with the feature "
        f"correction from {bench_fit_config().correct_from_ratings} ratings on"
        f", as the device fits) with that "
        "set of six task vectors and scores their held-out ratings with the real merged "
        "model. "
        "Mean SROCC over the fits; the change is against scope `all` in float32, fit by fit, "
        "± its standard error (the spread of the paired differences over the square root of "
        "the number of fits).",
        "",
        "| scope | encoding | " + " | ".join(f"SROCC @ {n} | change @ {n}" for n in shots) + " |",
        "|---|---|" + "---|---|" * len(shots),
    ]
    reference = sweep["all"].personal["float32"]
    for scope, scope_sweep in sweep.items():
        for encoding in encodings:
            cells = []
            for n in shots:
                scores = np.asarray(scope_sweep.personal[encoding][n])
                change = scores - np.asarray(reference[n])
                error = change.std(ddof=1) / np.sqrt(len(change)) if len(change) > 1 else 0.0
                cells.append(f"{scores.mean():.3f} | {_signed(change.mean())} ± {error:.4f}")
            lines.append(f"| {scope} | {encoding} | " + " | ".join(cells) + " |")
    counts = ", ".join(f"{len(reference[n])} at {n} shots" for n in shots)
    lines += ["", f"Fits per row: {counts}."]
    return lines
