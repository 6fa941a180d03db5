import argparse
import subprocess
import sys
from pathlib import Path

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


def _ended_by(program: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    preamble = (
        "import atexit, logging, pathlib, sys, threading, time\n"
        "from tastevec.common.command_line import exit_without_teardown\n"
        f"folder = pathlib.Path({str(tmp_path)!r})\n"
        "atexit.register(lambda: (folder / 'teardown').write_text('ran'))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", preamble + program], capture_output=True, text=True, timeout=60
    )


def test_exit_without_teardown_keeps_output_and_code_but_skips_teardown(tmp_path: Path) -> None:
    program = (
        "logging.basicConfig(filename=str(folder / 'log'))\n"
        "logging.warning('logged')\n"
        "sys.stdout.write('no newline')\n"  # still in the buffer at the exit
        "exit_without_teardown(3)\n"
    )
    ended = _ended_by(program, tmp_path)
    assert ended.returncode == 3 and ended.stdout == "no newline"
    assert "logged" in (tmp_path / "log").read_text()
    assert not (tmp_path / "teardown").exists()


def test_exit_without_teardown_waits_for_a_running_thread(tmp_path: Path) -> None:
    program = (
        "def work():\n"
        "    time.sleep(0.5)\n"
        "    (folder / 'work').write_text('done')\n"
        "threading.Thread(target=work).start()\n"
        "exit_without_teardown(4)\n"
    )
    ended = _ended_by(program, tmp_path)
    assert ended.returncode == 4
    assert (tmp_path / "work").read_text() == "done"  # the thread finished its work
    assert (tmp_path / "teardown").exists()  # a normal exit


def test_the_client_command_ends_without_teardown(tmp_path: Path) -> None:
    program = "from tastevec.client.cli import console; console()"
    args = ["status", "--home", str(tmp_path / "home")]
    ended = subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=60
    )
    assert ended.returncode == 0 and "ratings: none" in ended.stdout
