"""`tastevec-client`: the device's command line.

pull, rate, fit, score, suggest, share, status, forget, ui; all take `--home DIR`. torch and
timm load only in the commands that run a model (fit, score, suggest, ui), so that `--help`,
`status`, `rate`, `share` and `forget` start at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from tastevec.client.fit_options import REFERENCE_STEPS, FitMode
from tastevec.client.fit_progress import FitProgress, ProgressCallback
from tastevec.client.forgetting import forget_home
from tastevec.client.home import HOME_VARIABLE, Home
from tastevec.client.personal_profile import load_profile
from tastevec.client.rating_import import import_csv, rate_image
from tastevec.client.ratings_store import RatingsStore, parse_scale
from tastevec.client.release_cache import (
    current_release_id,
    current_release_problem,
    load_current_release,
    pull_from_dir,
)
from tastevec.client.sharing import describe_sharing, set_sharing
from tastevec.client.ui.ranking_page import RANKING_PAGE, check_page_size
from tastevec.common.coefficients import CoefficientLayout
from tastevec.common.command_line import exit_without_teardown, new_parser, run
from tastevec.common.errors import (
    FitError,
    ImageError,
    PageError,
    ProfileError,
    RatingsError,
    TastevecError,
)


def console() -> NoReturn:
    """The `tastevec-client` command: `main`, then an exit without the interpreter's
    teardown (`exit_without_teardown`: 1.2 s less after a command that ran a model)."""
    exit_without_teardown(main())


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(
        "tastevec-client",
        "Device side of tastevec: rate your photos, fit your own taste privately, "
        "score and rank images.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_pull(commands)
    _add_rate(commands)
    _add_fit(commands)
    _add_score(commands)
    _add_share(commands)
    _add_status(commands)
    _add_forget(commands)
    _add_suggest(commands)
    _add_ui(commands)
    return run(parser, argv)


def _command(commands: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help, description=help)
    command.add_argument(
        "--home",
        type=Path,
        default=None,
        help=f"this person's tastevec folder (default: ${HOME_VARIABLE}, "
        "else ~/.local/share/tastevec)",
    )
    return command


def _add_pull(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "pull", "install a verified release into your local cache")
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-dir", type=Path, help="a release folder (manifest.json, blobs/)")
    source.add_argument("--server", help="a release service, HOST:PORT")
    command.add_argument(
        "--trust",
        type=Path,
        help="the public key releases must be signed with; recorded by the first pull, "
        "which needs it (later pulls use the recorded key)",
    )
    command.add_argument(
        "--replace-trust",
        action="store_true",
        help="trust --trust instead of the recorded key (after the operator changed keys)",
    )
    command.add_argument(
        "--allow-rollback", action="store_true", help="install a release older than the current"
    )
    command.add_argument("--release", help="a release id (default: the server's current)")
    command.add_argument("--tls-ca", type=Path, help="CA certificate of the server (TLS)")
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    command.set_defaults(handler=_pull)


def _pull(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    if args.from_dir is not None:
        result = pull_from_dir(
            home,
            args.from_dir,
            args.trust,
            replace_trust=args.replace_trust,
            allow_rollback=args.allow_rollback,
        )
        moved = "copied"
    else:
        from tastevec.client.release_download import PullOptions, progress_bar, pull_from_server

        options = PullOptions(
            release_id=args.release,
            trust=args.trust,
            replace_trust=args.replace_trust,
            allow_rollback=args.allow_rollback,
            tls_ca=args.tls_ca,
        )
        progress = None if args.no_progress else progress_bar
        pulled = pull_from_server(home, args.server, options, progress=progress)
        result = pulled.result
        moved = f"fetched ({pulled.bytes_fetched / 1e6:.1f} MB)"
    manifest = result.release.manifest
    state = "already current" if result.already_current else "now current"
    print(
        f"release {manifest.release_id} verified and installed ({state}): "
        f"{len(manifest.task_vectors)} task vectors; {result.blobs_fetched} blobs {moved}, "
        f"{result.blobs_reused} already held"
    )
    return 0


def _add_rate(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "rate", "record your ratings of images (kept on this device only)")
    command.add_argument("image", nargs="?", type=Path, help="one image to rate")
    command.add_argument("score", nargs="?", type=float, help="its score on your scale")
    command.add_argument(
        "--csv", type=Path, help="a CSV with columns image,score (paths relative to the CSV)"
    )
    command.add_argument(
        "--scale",
        help="your rating scale as LOW-HIGH (default 1-10); fixed by your first rating",
    )
    command.set_defaults(handler=_rate)


def _rate(args: argparse.Namespace) -> int:
    if (args.csv is None) == (args.image is None):
        raise RatingsError("rate takes either IMAGE SCORE or --csv FILE")
    if args.image is not None and args.score is None:
        raise RatingsError(f"rate {args.image}: give a score after the image")
    home = Home.at(args.home).create()
    with RatingsStore.open(home.ratings) as store:
        plan = store.plan_import(parse_scale(args.scale) if args.scale else None)
        if args.csv is not None:
            report = import_csv(store, args.csv, plan)
        else:
            report = rate_image(store, args.image, args.score, plan)
    for line in report.lines():
        print(line)
    if report.recorded == 0:
        raise RatingsError(f"nothing recorded: every row of {args.csv} was skipped")
    return 0


def _add_fit(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "fit", "fit your own model to your ratings, on this device")
    command.add_argument(
        "--mode",
        choices=[m.value for m in FitMode],
        default=FitMode.FAST.value,
        help="fast (default: seconds on a CPU) or reference (the paper's fit: minutes)",
    )
    command.add_argument(
        "--layout",
        choices=[layout.value for layout in CoefficientLayout],
        default=CoefficientLayout.BLOCK.value,
        help="coefficients per task vector: one (global), one per block (default), one per tensor",
    )
    command.add_argument(
        "--steps",
        type=int,
        default=REFERENCE_STEPS,
        help="training steps of the reference fit (default: the paper's %(default)s)",
    )
    command.add_argument(
        "--no-prior",
        action="store_true",
        help="ignore the population prior the release may ship",
    )
    command.set_defaults(handler=_fit)


def _fit(args: argparse.Namespace) -> int:
    from tastevec.client.fitting import fit_profile  # torch: only where a model runs

    if args.steps < 1:
        raise FitError(f"--steps must be at least 1, got {args.steps}")
    home = Home.at(args.home)  # made (private) by pull: a fit needs a release first
    with fit_progress_bar(enabled=sys.stderr.isatty()) as progress:
        outcome = fit_profile(
            home,
            FitMode(args.mode),
            CoefficientLayout(args.layout),
            steps=args.steps,
            use_prior=not args.no_prior,
            progress=progress,
        )
    for line in outcome.skipped:
        print(f"skipped {line}")
    profile = outcome.profile
    print(
        f"fitted {profile.mode} {profile.layout} profile for release {profile.release_id} "
        f"from {profile.ratings} ratings in {profile.summary['seconds']:.1f} s"
        + (
            f" (prior from {profile.summary['prior_people']} people)"
            if profile.summary.get("prior_people") is not None
            else ""
        )
    )
    return 0


@contextlib.contextmanager
def fit_progress_bar(*, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A progress bar on stderr for the fit's stages (a terminal only; else no callback)."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=100, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}|") as bar:

        def show(step: FitProgress) -> None:
            count = f" {step.done}/{step.total}" if step.total > 1 else ""
            bar.set_description_str(step.stage + count, refresh=False)
            bar.update(round(100 * step.fraction) - bar.n)

        yield show


def _add_score(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands, "score", "score images with your own model, best first (0-1, higher is better)"
    )
    command.add_argument("paths", nargs="+", type=Path, help="image files or folders")
    command.add_argument("--json", action="store_true", help='print [{"image", "score"}, ...]')
    command.add_argument("--no-progress", action="store_true", help="no progress bar")
    command.set_defaults(handler=_score)


def _score(args: argparse.Namespace) -> int:
    from tastevec.client.scoring import score_paths  # torch: only where a model runs
    from tastevec.client.scoring_model import scoring_model
    from tastevec.common.device import default_device

    home = Home.at(args.home)
    release = load_current_release(home)
    model, note = scoring_model(home, release, default_device())
    if note is not None:
        print(f"tastevec-client: {note}", file=sys.stderr)
    result = score_paths(model, args.paths, show_progress=not args.no_progress)
    for path, reason in result.skipped:  # a reason names its file already
        shown = reason if str(path) in reason else f"{path}: {reason}"
        print(f"tastevec-client: skipped {shown}", file=sys.stderr)
    if not result.ranked:
        skipped = len(result.skipped)
        raise ImageError(
            f"nothing scored: {skipped} file{'s' if skipped != 1 else ''} skipped, no readable "
            "image"
            if skipped
            else f"nothing scored: no image in {', '.join(map(str, args.paths))}"
        )
    if args.json:
        print(json.dumps([{"image": str(p), "score": s} for p, s in result.ranked], indent=2))
    else:
        for path, score in result.ranked:
            print(f"{score:.4f}  {path}")
    return 0


def _add_share(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands,
        "share",
        "share your fitted coefficients (never ratings or images), masked by secure "
        "aggregation, to form the population prior: on or off (off by default)",
    )
    command.add_argument("choice", choices=["on", "off"])
    command.set_defaults(handler=_share)


def _share(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    set_sharing(home, args.choice == "on")
    if args.choice == "on":
        print(
            "sharing: on - in federated rounds this device sends its coefficients and their "
            "squares, masked by secure aggregation (the server learns only the cohort's sums)"
        )
    else:
        print("sharing: off - this device fits locally and sends nothing")
    return 0


def _add_status(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "status", "what is stored here: release, ratings, profile")
    command.set_defaults(handler=_status)


def _status(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    print(f"home: {home.root}")
    print(f"sharing: {describe_sharing(home)}")
    release_id = _print_release(home)
    if home.ratings.exists():
        with RatingsStore.open(home.ratings) as store:
            count, last = store.count(), store.last_rated()
            try:
                scale = f"on scale {store.scale_of_ratings()}"
            except RatingsError as exc:
                scale = f"({exc})"
        print(f"ratings: {count} {scale} (last {last})" if count else "ratings: none")
    else:
        print("ratings: none")
    if release_id is not None:
        try:
            profile = load_profile(home.profiles, release_id)
        except ProfileError as exc:
            print(f"profile: {exc}")
        else:
            print(
                f"profile: {profile.mode} {profile.layout}, fitted {profile.fitted_at} from "
                f"{profile.ratings} ratings in {profile.summary.get('seconds', '?')} s"
            )
    return 0


def _print_release(home: Home) -> str | None:
    """Print the release line of `status`; the current release's id, or None."""
    try:
        release_id = current_release_id(home)
        release = None if release_id is None else load_current_release(home)
    except TastevecError as exc:  # a damaged `current`, manifest, signature or trusted key
        print(f"release: DOES NOT VERIFY: {exc}; pull a release again to repair it")
        return None
    if release is None:
        print("release: none (tastevec-client pull --server HOST:PORT --trust KEY.pub)")
        return None
    manifest = release.manifest
    sources = ", ".join(e.source for e in manifest.task_vectors)
    print(
        f"release: {manifest.release_id} (created {manifest.created}; "
        f"backbone {manifest.backbone.name}; task vectors: {sources})"
    )
    problem = current_release_problem(home)
    if problem is not None:
        print(f"release: DOES NOT VERIFY: {problem}; pull it again to repair it")
    return manifest.release_id


def _add_forget(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "forget", "delete your ratings, profiles and cached image values")
    command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command.set_defaults(handler=_forget)


def _forget(args: argparse.Namespace) -> int:
    home = Home.at(args.home)
    if not args.yes:
        if not sys.stdin.isatty():
            raise RatingsError(f"forget deletes every rating and profile in {home.root}; add --yes")
        answer = input(f"delete every rating and profile in {home.root}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing deleted")
            return 1
    for line in forget_home(home).lines():
        print(line)
    return 0


def _add_suggest(commands: argparse._SubParsersAction) -> None:
    command = _command(
        commands, "suggest", "which of your photos to rate next: those that teach your model most"
    )
    command.add_argument("folders", nargs="+", type=Path, help="photo folders (or images)")
    command.add_argument("-n", type=int, default=10, help="how many (default %(default)s)")
    command.add_argument("--json", action="store_true", help='print [{"image"}, ...]')
    command.set_defaults(handler=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from tastevec.client.photo_suggestions import suggest  # torch: only where a model runs
    from tastevec.common.device import default_device

    if args.n < 1:
        raise RatingsError(f"-n must be at least 1, got {args.n}")
    result = suggest(Home.at(args.home), args.folders, args.n, default_device())
    if result.note is not None:
        print(f"tastevec-client: {result.note}", file=sys.stderr)
    for line in result.skipped:
        print(f"tastevec-client: skipped {line}", file=sys.stderr)
    if args.json:
        print(json.dumps([{"image": str(p.path)} for p in result.chosen], indent=2))
    else:
        for photo in result.chosen:
            print(photo.path)
    if not result.chosen:
        print(
            f"tastevec-client: nothing to suggest: {result.unrated} unrated photos", file=sys.stderr
        )
    return 0


def _add_ui(commands: argparse._SubParsersAction) -> None:
    command = _command(commands, "ui", "your own page: rate photos in the browser, see them ranked")
    command.add_argument(
        "--photos", type=Path, action="append", default=[], help="a photo folder (repeatable)"
    )
    command.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    command.add_argument("--no-browser", action="store_true", help="only print the address")
    command.add_argument(
        "--page-size",
        type=int,
        default=RANKING_PAGE,
        help="photos per page of the ranking; the page shows more on request "
        "(default: %(default)s)",
    )
    command.add_argument(
        "--own-sample",
        type=int,
        default=None,
        help="photos scored by every model first, so the next-photo choice works at once, "
        "before your model alone ranks the rest (default: 128; the folder's size or more: "
        "every model on every photo first)",
    )
    command.set_defaults(handler=_ui)


def _ui(args: argparse.Namespace) -> int:
    from tastevec.client.ui.server import serve  # torch: only where a model runs

    if not 0 <= args.port <= 65535:
        raise PageError(f"--port must be 0-65535, got {args.port}")
    page_size = check_page_size(args.page_size)
    if args.own_sample is not None and args.own_sample < 0:
        raise PageError(f"--own-sample must be 0 or more, got {args.own_sample}")
    home = Home.at(args.home)
    sample = {} if args.own_sample is None else {"own_sample": args.own_sample}
    return serve(
        home,
        args.photos,
        args.port,
        open_browser=not args.no_browser,
        ranking_page=page_size,
        **sample,
    )
