import argparse
import subprocess
import sys

import pytest

from tastevec.common.command_line import new_parser, run
from tastevec.common.errors import ImageError


def _parser_with(handler: object) -> argparse.ArgumentParser:
    parser = new_parser("tastevec-test", "test program")
    commands = parser.add_subparsers()
    commands.add_parser("go").set_defaults(handler=handler)
    return parser


def test_user_errors_print_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(_: argparse.Namespace) -> int:
        raise ImageError("cannot decode image /x/a.jpg:\n  truncated data")

    assert run(_parser_with(fail), ["go"]) == 2
    err = capsys.readouterr().err
    assert err == "tastevec-test: error: cannot decode image /x/a.jpg: truncated data\n"


def test_handler_exit_code_is_returned() -> None:
    assert run(_parser_with(lambda _: 0), ["go"]) == 0
    assert run(_parser_with(lambda _: 3), ["go"]) == 3


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_parser_with(lambda _: 0), []) == 0
    assert "usage: tastevec-test" in capsys.readouterr().out


def test_programming_errors_are_not_swallowed() -> None:
    def bug(_: argparse.Namespace) -> int:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run(_parser_with(bug), ["go"])


def test_output_cut_short_by_the_reader_ends_quietly() -> None:
    program = (
        "import sys\n"
        "from tastevec.common.command_line import new_parser, run\n"
        "parser = new_parser('lines', 'print many lines')\n"
        "command = parser.add_subparsers().add_parser('go')\n"
        "command.set_defaults(handler=lambda args: [print(i) for i in range(10**6)] and 0)\n"
        "sys.exit(run(parser, ['go']))\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert writer.stdout is not None and writer.stderr is not None
    assert writer.stdout.readline() == b"0\n"
    writer.stdout.close()
    error = writer.stderr.read().decode()
    assert writer.wait() == 141
    assert "Traceback" not in error and "BrokenPipe" not in error
