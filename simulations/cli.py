"""`tastevec-sim`: demos, benchmarks and (with later issues) worlds and population runs."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from tastevec.common.command_line import new_parser, run
from tastevec.common.errors import TastevecError
from tastevec.simulations.world.sizes import SIZES


def _story(args: argparse.Namespace) -> int:
    from tastevec.simulations.demos.demo_story import run_story

    report = run_story(
        args.out,
        world=args.world,
        world_size=args.size,
        people=args.people,
        ratings=args.ratings,
        forge_steps=args.steps,
        image_size=args.image_size,
        seed=args.seed,
    )
    print(report)
    print(f"report written to {args.out / 'demo-report.md'}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tastevec.simulations.demos.demo import run_demo

    _make_folder(args.out)
    print(run_demo(args.out, steps=args.steps, seed=args.seed))
    print(f"report and task vectors written to {args.out}")
    return 0


def _bench_core(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_core import run_core_benchmark

    _make_folder(args.out.parent)  # before minutes of work, not after
    report = run_core_benchmark(
        batch_size=args.batch_size, image_size=args.image_size, repeats=args.repeats
    )
    _write_report(args.out, report)
    return 0


def _write_report(path: Path, report: str) -> None:
    try:
        path.write_text(report)
    except OSError as exc:
        raise TastevecError(f"cannot write report {path}: {exc.strerror or exc}") from exc
    print(report)
    print(f"report written to {path}")


def _bench_forge(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_forge import run_forge_benchmark
    from tastevec.simulations.world.build import WORLD_FILE, build_world
    from tastevec.simulations.world.sizes import world_size

    _make_folder(args.out.parent)  # before minutes of work, not after
    world = args.world or args.scratch / "world"
    if args.world is not None:
        _require_world(world)
    elif not (world / WORLD_FILE).exists():
        build_world(world, world_size("standard"))
    report = run_forge_benchmark(
        world,
        args.scratch,
        image_size=args.image_size,
        epochs=args.epochs,
        top=args.top,
        people_per_group=args.people,
    )
    _write_report(args.out, report)
    return 0


def _bench_personalize(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_personalize import (
        Settings,
        plot_srocc,
        run_personalize_benchmark,
    )
    from tastevec.simulations.benchmarks.reference_comparison import ReferenceSettings

    _make_folder(args.out.parent)  # before minutes of work, not after
    _require_world(args.world)
    settings = Settings(
        shots=tuple(args.shots),
        draws=args.draws,
        people=args.people,
        which=args.people_set,
        prior_people=args.prior_people,
        reference=ReferenceSettings(
            people=args.reference_people,
            image_size=args.reference_image_size,
            steps=args.reference_steps,
        ),
    )
    report, results = run_personalize_benchmark(args.world, args.release, args.trust, settings)
    plot = args.out.with_suffix(".png")
    plot_srocc(results, plot)
    _write_report(args.out, report + f"\n![SROCC against shots]({plot.name})\n")
    return 0


def _bench_reference(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_reference import run_reference_benchmark
    from tastevec.simulations.benchmarks.reference_comparison import ReferenceSettings

    _make_folder(args.out.parent)
    _require_world(args.world)
    settings = ReferenceSettings(
        people=args.people,
        shots=tuple(args.shots),
        image_size=args.image_size,
        steps=args.steps,
        which=args.people_set,
    )
    report = run_reference_benchmark(args.world, args.release, args.trust, settings)
    _write_report(args.out, report)
    return 0


def _bench_paper(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_paper import PaperSettings, run_paper_benchmark

    _make_folder(args.out.parent)
    settings = PaperSettings(
        database=args.database,
        root=args.root,
        split=args.split,
        options=dict(args.option),
        shots=tuple(args.shots),
        draws=args.draws,
        people=args.people,
    )
    report = run_paper_benchmark(args.release, args.trust, settings)
    _write_report(args.out, report)
    return 0


def _bench_federation(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_federation import run_federation_benchmark

    _make_folder(args.out.parent)
    _require_world(args.world)
    report = run_federation_benchmark(
        args.world, args.release, args.trust, args.key, args.scratch, args.people, args.rounds
    )
    _write_report(args.out, report)
    return 0


def _report(args: argparse.Namespace) -> int:
    from tastevec.simulations.federation.report import ReportSettings, run_report

    _make_folder(args.out.parent)
    _require_world(args.world)
    settings = ReportSettings(
        people=args.people, rounds=args.rounds, draws=args.draws, dropout_people=args.dropout_people
    )
    report = run_report(
        args.world, args.release, args.trust, args.key, args.scratch, args.out, settings
    )
    _write_report(args.out, report)
    return 0


def _loader_option(text: str) -> tuple[str, object]:
    """NAME=VALUE, VALUE read as JSON when it is JSON (a list of ids, a number), else text."""
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"need NAME=VALUE, not {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _bench_device(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_device import run_device_benchmark

    _require_world(args.world)
    _make_folder(args.out.parent)
    _make_folder(args.scratch)
    report = run_device_benchmark(args.world, args.release, args.trust, args.scratch)
    _write_report(args.out, report)
    return 0


def _bench_photos(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_photos import PhotoSettings, run_photos_benchmark

    _make_folder(args.out.parent)
    _make_folder(args.scratch)
    settings = PhotoSettings(ratings=tuple(args.ratings), scored=args.scored)
    _write_report(args.out, run_photos_benchmark(args.release, args.trust, args.scratch, settings))
    return 0


def _bench_release(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_release import (
        ReleaseBenchSettings,
        run_release_benchmark,
    )

    _make_folder(args.out.parent)
    settings = ReleaseBenchSettings(
        release_mb=args.release_mb,
        clients=args.clients,
        repeats=args.repeats,
        flower=not args.no_flower,
    )
    _write_report(args.out, run_release_benchmark(args.scratch, settings))
    return 0


def _bench_active(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_active import ActiveSettings, run_active_benchmark

    _require_world(args.world)
    _make_folder(args.out.parent)
    settings = ActiveSettings(
        shots=tuple(args.shots), draws=args.draws, people=args.people, which=args.people_set
    )
    _write_report(args.out, run_active_benchmark(args.world, args.release, args.trust, settings))
    return 0


def _bench_few_ratings(args: argparse.Namespace) -> int:
    from tastevec.simulations.calibrations.few_ratings import run_few_ratings

    _require_world(args.world)
    _make_folder(args.out.parent)
    report = run_few_ratings(args.world, args.release, args.trust, args.draws, way=args.way)
    _write_report(args.out, report)
    return 0


def _bench_coefficient_fit(args: argparse.Namespace) -> int:
    from tastevec.simulations.calibrations.coefficient_fit import run_coefficient_fit

    _require_world(args.world)
    _make_folder(args.out.parent)
    report = run_coefficient_fit(
        args.world, args.release, args.trust, args.draws, args.people, tuple(args.shots)
    )
    _write_report(args.out, report)
    return 0


def _bench_forge_recipe(args: argparse.Namespace) -> int:
    from tastevec.simulations.calibrations.forge_recipe import run_forge_recipe

    _require_world(args.world)
    _make_folder(args.out.parent)
    report = run_forge_recipe(args.world, args.baseline, args.candidate, args.trust, args.draws)
    _write_report(args.out, report)
    return 0


def _bench_linearised_own(args: argparse.Namespace) -> int:
    from tastevec.simulations.calibrations.linearised_own_scores import run_linearised_own

    _require_world(args.world)
    _make_folder(args.out.parent)
    report = run_linearised_own(args.world, args.release, args.trust, args.draws)
    _write_report(args.out, report)
    return 0


def _bench_page(args: argparse.Namespace) -> int:
    from tastevec.simulations.benchmarks.bench_page import run_page_benchmark
    from tastevec.simulations.demos.page_screenshots import small_inputs

    _make_folder(args.out.parent)
    _make_folder(args.scratch)
    if args.release is None or args.trust is None:
        inputs = small_inputs(args.scratch)
        release, trust = inputs.release, inputs.trust
    else:
        release, trust = args.release, args.trust
    counts = (args.photos // 10, args.photos)
    _write_report(args.out, run_page_benchmark(release, trust, args.scratch, counts=counts))
    return 0


def _screenshots(args: argparse.Namespace) -> int:
    from tastevec.simulations.demos.page_screenshots import Inputs, small_inputs, take_screenshots

    _make_folder(args.out)
    _make_folder(args.scratch)
    if args.world is None:
        inputs = small_inputs(args.scratch)
    else:
        _require_world(args.world)
        if args.release is None or args.trust is None:
            raise TastevecError("--world needs --release and --trust")
        inputs = Inputs(args.world, args.release, args.trust)
    take_screenshots(inputs, args.scratch, args.out)
    return 0


def _world(args: argparse.Namespace) -> int:
    from tastevec.simulations.world.build import CARD_FILE, build_world
    from tastevec.simulations.world.sizes import world_size

    size = world_size(args.size)
    if args.photos is not None and not args.photos.is_dir():
        raise TastevecError(f"photo folder not found: {args.photos}")
    figures = build_world(args.out, size, photos=args.photos, seed=args.seed)
    checks = figures["checks"]
    print(
        f"world {size.name}: {figures['images']} images, {figures['people']} people, "
        f"mean ceiling {checks['mean_ceiling']:.3f}, strongest single predictor "
        f"{checks['strongest_single_predictor']:.3f}; card: {args.out / CARD_FILE}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(
        "tastevec-sim", "Simulations, demos and benchmarks of tastevec (simulated ratings)."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the method end to end on bundled photos")
    demo.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    demo.add_argument("--steps", type=_positive, default=25, help="fine-tune steps per vector")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)

    story = commands.add_parser(
        "story",
        help="the whole product end to end (make demo): world, forge, release service, devices, "
        "a federated round, the prior pulled and refitted with",
    )
    story.add_argument("--out", type=Path, default=Path("demo-output"), help="an empty folder")
    story.add_argument("--world", type=Path, help="an existing photo world (default: build one)")
    story.add_argument("--size", default="standard", help="the world to build: small|standard")
    story.add_argument("--people", type=_positive, default=6, help="devices (at least 3)")
    story.add_argument("--ratings", type=_positive, default=50, help="photos each person rates")
    story.add_argument("--steps", type=_positive, default=60, help="forge steps per database")
    story.add_argument("--image-size", type=_positive, default=64)
    story.add_argument("--seed", type=int, default=0)
    story.set_defaults(handler=_story)

    report = commands.add_parser(
        "report",
        help="the federation's experiments (priors over SecAgg+, DP, dropouts, task vectors) "
        "in one report with plots",
    )
    report.add_argument("--out", type=Path, default=Path("federation-report.md"))
    _world_release_arguments(report)
    report.add_argument("--key", type=Path, required=True, help="the release's private key")
    report.add_argument("--people", type=_positive, default=200, help="population devices")
    report.add_argument("--rounds", type=_positive, default=3)
    report.add_argument("--draws", type=_positive, default=3, help="supports per person, shots")
    report.add_argument("--dropout-people", type=_positive, default=9)
    report.add_argument(
        "--scratch", type=Path, required=True, help="an empty folder for homes and runs"
    )
    report.set_defaults(handler=_report)

    world = commands.add_parser(
        "world", help="build the photo world: real photos, simulated databases and people"
    )
    world.add_argument("--out", type=Path, required=True, help="output folder")
    world.add_argument("--size", choices=tuple(SIZES), default="small")
    world.add_argument("--photos", type=Path, help="your own photo folder (default: bundled)")
    world.add_argument("--seed", type=int, default=0)
    world.set_defaults(handler=_world)

    shots = commands.add_parser(
        "screenshots", help="PNGs of the person's page (rate, ranking, status) in headless chromium"
    )
    shots.add_argument("--out", type=Path, default=Path("."), help="folder for page-*.png")
    shots.add_argument("--world", type=Path, help="a photo world (default: the small one)")
    shots.add_argument("--release", type=Path, help="a release forged on it")
    shots.add_argument("--trust", type=Path, help="its public key")
    shots.add_argument(
        "--scratch", type=Path, default=Path("screenshots-work"), help="world, release, home"
    )
    shots.set_defaults(handler=_screenshots)

    bench = commands.add_parser("bench", help="run a benchmark and write its report")
    suites = bench.add_subparsers(title="benchmarks", metavar="SUITE", required=True)
    core = suites.add_parser("core", help="scoring throughput, composition cost, memory")
    core.add_argument("--out", type=Path, default=Path("core-bench.md"))
    core.add_argument("--batch-size", type=_positive, default=32)
    core.add_argument("--image-size", type=_positive, default=224)
    core.add_argument("--repeats", type=_positive, default=9)
    core.set_defaults(handler=_bench_core)
    forge = suites.add_parser(
        "forge", help="forge the photo world's task vectors: time, accuracy, size"
    )
    forge.add_argument("--out", type=Path, default=Path("forge-bench.md"))
    forge.add_argument(
        "--world", type=Path, help="a photo world (default: a standard world built in SCRATCH)"
    )
    forge.add_argument(
        "--scratch",
        type=Path,
        default=Path("forge-bench"),
        help="releases and work folders; rerunning reuses finished forges (default: %(default)s)",
    )
    forge.add_argument("--image-size", type=_positive, default=128)
    forge.add_argument("--epochs", type=_positive, default=3)
    forge.add_argument("--top", type=_positive, default=2, help="N of the top-N scope")
    forge.add_argument(
        "--people",
        type=_non_negative,
        default=4,
        help="test people per group who personalize with every scope and encoding "
        "(0: none; default: %(default)s)",
    )
    forge.set_defaults(handler=_bench_forge)
    personalize = suites.add_parser(
        "personalize", help="fit the test people's coefficients; compare with baselines"
    )
    personalize.add_argument(
        "--out", type=Path, default=Path("personalize-bench.md"), help="report (.md)"
    )
    _world_release_arguments(personalize)
    personalize.add_argument("--shots", type=_positive, nargs="+", default=[5, 10, 20, 50, 100])
    personalize.add_argument("--draws", type=_positive, default=3)
    personalize.add_argument(
        "--people",
        type=_positive,
        help="test people per group, before the development/final split (default: all)",
    )
    personalize.add_argument(
        "--people-set", choices=("development", "final"), default="final", help="which people"
    )
    personalize.add_argument(
        "--prior-people",
        type=_non_negative,
        default=30,
        help="training people for the prior (0: none)",
    )
    personalize.add_argument(
        "--reference-people",
        type=_non_negative,
        default=0,
        help="test people for fast against reference at --reference-image-size "
        "(default 0: `bench reference` compares them at the release's size)",
    )
    personalize.add_argument("--reference-image-size", type=_positive, default=64)
    personalize.add_argument("--reference-steps", type=_positive, default=500)
    personalize.set_defaults(handler=_bench_personalize)
    reference = suites.add_parser(
        "reference", help="fast against the paper's reference fit, at the release's image size"
    )
    reference.add_argument("--out", type=Path, default=Path("reference-bench.md"))
    _world_release_arguments(reference)
    reference.add_argument("--people", type=_positive, default=10, help="test people")
    reference.add_argument(
        "--people-set", choices=("development", "final"), default="final", help="which people"
    )
    reference.add_argument("--shots", type=_positive, nargs="+", default=[10, 100])
    reference.add_argument(
        "--image-size", type=_positive, help="both modes' image size (default: the release's)"
    )
    reference.add_argument("--steps", type=_positive, default=500, help="reference steps")
    reference.set_defaults(handler=_bench_reference)
    paper = suites.add_parser(
        "paper", help="the paper's protocol on a real personal database you have"
    )
    paper.add_argument("--out", type=Path, default=Path("paper-bench.md"), help="report (.md)")
    paper.add_argument(
        "--database", required=True, help="a personal database: flickr_aes, para or real_cur"
    )
    paper.add_argument("--root", type=Path, required=True, help="the database's folder")
    paper.add_argument("--split", default="test", help="whose people (default: %(default)s)")
    paper.add_argument(
        "--option",
        type=_loader_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help='a loader option, e.g. test_workers=\'["A1", "A2"]\' (repeatable)',
    )
    paper.add_argument(
        "--release", type=Path, required=True, help="a release forged on any backbone"
    )
    paper.add_argument("--trust", type=Path, required=True, help="its public key")
    paper.add_argument("--shots", type=_positive, nargs="+", default=[10, 100])
    paper.add_argument("--draws", type=_positive, default=10, help="supports per person")
    paper.add_argument("--people", type=_positive, help="people (default: all)")
    paper.set_defaults(handler=_bench_paper)
    device = suites.add_parser(
        "device", help="fit time (cold, warm) and scoring memory through the client's code"
    )
    device.add_argument("--out", type=Path, default=Path("device-bench.md"))
    _world_release_arguments(device)
    device.add_argument(
        "--scratch",
        type=Path,
        default=Path("device-bench"),
        help="homes and image folders (default: %(default)s)",
    )
    device.set_defaults(handler=_bench_device)
    photos = suites.add_parser(
        "photos", help="12-megapixel JPEGs: scoring against the forward alone, a cold first fit"
    )
    photos.add_argument("--out", type=Path, default=Path("photos-bench.md"))
    photos.add_argument("--release", type=Path, required=True, help="a release folder")
    photos.add_argument("--trust", type=Path, required=True, help="its public key")
    photos.add_argument("--ratings", type=_positive, nargs="+", default=[10, 100])
    photos.add_argument("--scored", type=_positive, default=1_000, help="photos scored")
    photos.add_argument(
        "--scratch",
        type=Path,
        default=Path("photos-bench"),
        help="photos and new homes (default: %(default)s; a cold fit needs new homes)",
    )
    photos.set_defaults(handler=_bench_photos)
    release = suites.add_parser(
        "release", help="the release service on loopback: throughput, resume, clients, deltas"
    )
    release.add_argument("--out", type=Path, default=Path("release-bench.md"))
    release.add_argument(
        "--scratch",
        type=Path,
        default=Path("release-bench"),
        help="store, release and homes, removed after (default: %(default)s)",
    )
    release.add_argument("--release-mb", type=_positive, default=200, help="release size (MB)")
    release.add_argument("--clients", type=_positive, default=20, help="concurrent clients")
    release.add_argument("--repeats", type=_positive, default=5, help="single-pull repeats")
    release.add_argument(
        "--no-flower", action="store_true", help="skip the Flower transport comparison"
    )
    release.set_defaults(handler=_bench_release)
    active = suites.add_parser(
        "active", help="which photo next: active selection against random, same fit"
    )
    active.add_argument("--out", type=Path, default=Path("active-bench.md"))
    _world_release_arguments(active)
    active.add_argument("--shots", type=_positive, nargs="+", default=[5, 10, 20])
    active.add_argument("--draws", type=_positive, default=3)
    active.add_argument("--people", type=_positive, help="test people per group (default: all)")
    active.add_argument(
        "--people-set", choices=("development", "final"), default="final", help="which people"
    )
    active.set_defaults(handler=_bench_active)
    few = suites.add_parser(
        "few-ratings",
        help="5-20 ratings without a prior: fixed steps or tempered starts against the paper's "
        "initialisation (development people)",
    )
    few.add_argument("--out", type=Path, default=Path("few-ratings-bench.md"))
    _world_release_arguments(few)
    few.add_argument("--draws", type=_positive, default=3, help="supports per person, shots")
    few.add_argument(
        "--way",
        choices=("step", "start", "joint"),
        default="step",
        help="step: fixed pulls toward the initialisation; start: its temperature tempered; "
        "joint: steps from the tempered start",
    )
    few.set_defaults(handler=_bench_few_ratings)
    ways = suites.add_parser(
        "coefficient-fit",
        help="ways to solve the coefficient fit (expansion point, trust region, "
        "re-linearisation), coefficients alone (development people)",
    )
    ways.add_argument("--out", type=Path, default=Path("coefficient-fit-bench.md"))
    _world_release_arguments(ways)
    ways.add_argument("--draws", type=_positive, default=1, help="supports per person, shots")
    ways.add_argument("--people", type=_positive, help="development people (default: all)")
    ways.add_argument("--shots", type=_positive, nargs="+", default=[50, 100])
    ways.set_defaults(handler=_bench_coefficient_fit)
    recipe = suites.add_parser(
        "forge-recipe",
        help="two releases forged two ways: their own tests and personalization "
        "(development people)",
    )
    recipe.add_argument("--out", type=Path, default=Path("forge-recipe-bench.md"))
    recipe.add_argument("--world", type=Path, required=True, help="a photo world")
    recipe.add_argument(
        "--baseline", type=Path, required=True, help="a release forged the default way"
    )
    recipe.add_argument(
        "--candidate", type=Path, required=True, help="a release forged the candidate way"
    )
    recipe.add_argument("--trust", type=Path, required=True, help="their public key")
    recipe.add_argument("--draws", type=_positive, default=3, help="supports per person, shots")
    recipe.set_defaults(handler=_bench_forge_recipe)
    linearised = suites.add_parser(
        "linearised-own",
        help="the task vectors' own scores from the linearisation against their forward "
        "passes (development people)",
    )
    linearised.add_argument("--out", type=Path, default=Path("linearised-own-bench.md"))
    _world_release_arguments(linearised)
    linearised.add_argument("--draws", type=_positive, default=3, help="supports per person, shots")
    linearised.set_defaults(handler=_bench_linearised_own)
    page = suites.add_parser(
        "page", help="the person's page on 1,000 and 10,000 photos: listing, scores, memory"
    )
    page.add_argument("--out", type=Path, default=Path("page-bench.md"))
    page.add_argument("--release", type=Path, help="a release (default: a brief one, forged)")
    page.add_argument("--trust", type=Path, help="its public key")
    page.add_argument("--photos", type=_positive, default=10_000, help="the large folder")
    page.add_argument(
        "--scratch",
        type=Path,
        default=Path("page-bench"),
        help="photos and homes, removed after; the world and release kept (default: %(default)s)",
    )
    page.set_defaults(handler=_bench_page)
    federation = suites.add_parser(
        "federation",
        help="the Flower apps over simulated people; SecAgg+ priors against the clear text",
    )
    federation.add_argument("--out", type=Path, default=Path("federation-bench.md"))
    _world_release_arguments(federation)
    federation.add_argument("--key", type=Path, required=True, help="the release's private key")
    federation.add_argument("--people", type=_positive, default=20)
    federation.add_argument("--rounds", type=_positive, default=1)
    federation.add_argument(
        "--scratch",
        type=Path,
        default=Path("federation-bench"),
        help="an empty folder for the homes and releases (default: %(default)s)",
    )
    federation.set_defaults(handler=_bench_federation)
    return run(parser, argv)


def _world_release_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--world", type=Path, required=True, help="a photo world")
    parser.add_argument(
        "--release", type=Path, required=True, help="a release forged on that world"
    )
    parser.add_argument("--trust", type=Path, required=True, help="its public key")


def _require_world(path: Path) -> None:
    from tastevec.simulations.world.build import WORLD_FILE

    if not (path / WORLD_FILE).exists():
        raise TastevecError(f"{path} is not a photo world (no {WORLD_FILE})")


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TastevecError(f"cannot create output folder {path}: {exc.strerror or exc}") from exc


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, got {text}")
    return value
