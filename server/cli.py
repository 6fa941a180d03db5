"""`tastevec-server`: the operator's command line.

Commands arrive with their issues: keygen, forge, serve, publish-prior.
"""

from __future__ import annotations

from collections.abc import Sequence

from tastevec.common.command_line import new_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(
        "tastevec-server",
        "Operator side of tastevec: forges task vectors from aesthetic and quality databases "
        "and distributes them as signed releases.",
    )
    return run(parser, argv)
