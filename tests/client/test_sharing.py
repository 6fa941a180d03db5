"""Consent: sharing is off until the person says `share on`, kept in their home, private,
shown by `status`; a damaged setting is a one-line error, never read as consent."""

import os
import stat
from pathlib import Path

import pytest

from tastevec.client.cli import main
from tastevec.client.home import Home
from tastevec.client.sharing import describe_sharing, set_sharing, sharing_enabled, sharing_path
from tastevec.common.errors import HomeError


def test_sharing_is_off_by_default_and_follows_the_persons_choice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home")
    assert not sharing_enabled(home)
    assert main(["status", "--home", str(home.root)]) == 0
    assert "sharing: off" in capsys.readouterr().out
    assert main(["share", "on", "--home", str(home.root)]) == 0
    assert sharing_enabled(home)
    assert stat.S_IMODE(os.stat(sharing_path(home)).st_mode) == 0o600
    capsys.readouterr()
    assert main(["status", "--home", str(home.root)]) == 0
    assert "sharing: on" in capsys.readouterr().out
    assert main(["share", "off", "--home", str(home.root)]) == 0
    assert not sharing_enabled(home)


def test_a_damaged_setting_is_an_error_not_consent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home").create()
    sharing_path(home).write_text('{"share": "yes"}')
    with pytest.raises(SystemExit):  # argparse: only on or off
        main(["share", "maybe", "--home", str(home.root)])
    capsys.readouterr()
    assert main(["status", "--home", str(home.root)]) == 0
    assert "sharing setting" in capsys.readouterr().out
    os.mkfifo(sharing_path(home).with_suffix(".fifo"))
    sharing_path(home).unlink()
    sharing_path(home).with_suffix(".fifo").rename(sharing_path(home))
    with pytest.raises(HomeError, match="sharing setting"):
        sharing_enabled(home)


def test_the_words_for_consent_never_fail(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").create()
    assert describe_sharing(home).startswith("off: nothing leaves")
    set_sharing(home, True)
    assert describe_sharing(home).startswith("on: ")
    sharing_path(home).write_text("{")
    assert describe_sharing(home).startswith("off (sharing setting")
