"""What every tastevec command line shares: logging set-up and one-line errors.

A subcommand is an argparse sub-parser with `handler=` set to a function taking the parsed
arguments and returning an exit code. Errors a user can cause (TastevecError) print as one
line on stderr and exit 2, never as a traceback. A command line a person runs often ends
with `exit_without_teardown`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import NoReturn

from tastevec.common.errors import TastevecError

Handler = Callable[[argparse.Namespace], int]


def new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('tastevec')}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress details to stderr"
    )
    return parser


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the chosen subcommand's handler, and turn user errors into one line."""
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except TastevecError as exc:
        print(f"{parser.prog}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped early (`| head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit flush does not fail again
        return 141


def exit_without_teardown(code: int) -> NoReturn:
    """End the process with `code` without the interpreter's teardown of its modules: after
    torch and timm (2-core CPU) that teardown took 1.2 s and raised the peak memory by
    130 MiB, for nothing a finished command needs. Output is flushed and logging shut down
    first. While another non-daemon thread is still running, the exit is the normal one, so
    that the thread finishes (and atexit handlers run)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone (`| head`), closed
            stream.flush()
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if any(t.is_alive() for t in others):
        sys.exit(code)
    os._exit(code)


def _one_line(message: str) -> str:
    return " ".join(message.split())
