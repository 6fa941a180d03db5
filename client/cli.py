"""`tastevec-client`: the device's command line.

Commands arrive with their issues: pull, rate, fit, score, status, forget.
"""

from __future__ import annotations

from collections.abc import Sequence

from tastevec.common.command_line import new_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(
        "tastevec-client",
        "Device side of tastevec: rate your photos, fit your own taste privately, "
        "score and rank images.",
    )
    return run(parser, argv)
