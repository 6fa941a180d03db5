"""Where a person's home goes, and that it is theirs alone: never the filesystem root, never a
file, always 0700."""

import os
import pwd
import stat
from pathlib import Path

import pytest

from tastevec.client.cli import main
from tastevec.client.home import HOME_VARIABLE, Home, default_home
from tastevec.common.errors import HomeError


@pytest.fixture
def no_home_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (HOME_VARIABLE, "XDG_DATA_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_variables_choose_the_home_in_order(
    no_home_variables: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_home_variables.setenv("HOME", str(tmp_path / "me"))
    assert default_home() == tmp_path / "me" / ".local" / "share" / "tastevec"
    no_home_variables.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_home() == tmp_path / "data" / "tastevec"
    no_home_variables.setenv(HOME_VARIABLE, str(tmp_path / "tv"))
    assert default_home() == tmp_path / "tv"


@pytest.mark.parametrize("value", [None, "", "/", "relative/home"])
def test_an_empty_or_unusable_home_variable_falls_back_to_the_user_database(
    no_home_variables: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        no_home_variables.setenv("HOME", value)
    no_home_variables.setenv("XDG_DATA_HOME", "not/absolute")  # ignored, as XDG says
    expected = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".local" / "share" / "tastevec"
    assert default_home() == expected
    assert default_home() != Path("/.local/share/tastevec")


def test_with_no_home_anywhere_the_person_is_asked_for_one(
    no_home_variables: pytest.MonkeyPatch,
) -> None:
    no_home_variables.setenv("HOME", "")
    record = pwd.struct_passwd(("nobody", "x", 1, 1, "", "/", "/bin/false"))
    no_home_variables.setattr(pwd, "getpwuid", lambda uid: record)
    with pytest.raises(HomeError, match=f"give --home DIR or set {HOME_VARIABLE}"):
        default_home()


def test_a_home_that_is_a_file_or_lies_under_one_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with pytest.raises(HomeError, match=r"notes.txt is a file, not a folder"):
        Home.at(afile)
    with pytest.raises(HomeError, match=r"lies under .*notes.txt, a file"):
        Home.at(afile / "home")


def test_a_created_home_is_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = Home.at(tmp_path / "new" / "home").create()
        assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
        home.root.chmod(0o755)
        Home.at(home.root).create()
        assert stat.S_IMODE(home.root.stat().st_mode) == 0o700
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["fit"],
        ["score", "photo.jpg"],
        ["forget", "--yes"],
        ["rate", "photo.jpg", "3"],
        ["pull", "--from-dir", "release", "--trust", "key.pub"],
    ],
)
def test_every_command_answers_a_home_that_is_a_file_in_one_line(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "home"
    afile.write_text("not a folder")
    name, *rest = command
    assert main([name, "--home", str(afile), *rest]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"error: tastevec home {afile} is a file, not a folder" in err
    assert afile.read_text() == "not a folder"
