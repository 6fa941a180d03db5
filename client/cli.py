"""`tastevec-client`: the device's command line.

pull, rate, fit, score, status, forget; all take `--home DIR`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tastevec.client.home import HOME_VARIABLE, Home
from tastevec.client.rating_import import import_csv, rate_image
from tastevec.client.ratings_store import RatingsStore, parse_scale
from tastevec.common.command_line import new_parser, run
from tastevec.common.errors import RatingsError


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(
        "tastevec-client",
        "Device side of tastevec: rate your photos, fit your own taste privately, "
        "score and rank images.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_rate(commands)
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
    home = Home.at(args.home)
    with RatingsStore.open(home.ratings) as store:
        scale = store.settle_scale(parse_scale(args.scale) if args.scale else None)
        if args.csv is not None:
            report = import_csv(store, args.csv, scale)
        else:
            report = rate_image(store, args.image, args.score, scale)
    for line in report.lines():
        print(line)
    return 0
