import argparse

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
