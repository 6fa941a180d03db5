"""The release cache under hostile releases and damaged homes: ids that are paths, files that
never end or never open, a damaged blob, a read-only home; and what the cache makes private."""

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tastevec.client.cli import main as client_main
from tastevec.client.home import Home
from tastevec.client.release_cache import (
    CURRENT,
    current_release_id,
    load_current_release,
    pull_from_dir,
)
from tastevec.common.errors import ReleaseError
from tastevec.common.release import blob_path, read_blob, verify_release
from tastevec.common.signing import load_private_key, load_public_key, sign

CLIENT = str(Path(sys.executable).with_name("tastevec-client"))


def _resigned_copy(release: Path, key: Path, out: Path, **changes: object) -> Path:
    """A copy of `release` whose manifest has `changes`, signed again with the real key: a
    release the operator's key vouches for, however odd its content."""
    shutil.copytree(release, out)
    document = json.loads((out / "manifest.json").read_bytes())
    document.update(changes)
    data = (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()
    (out / "manifest.json").write_bytes(data)
    (out / "manifest.sig").write_bytes(sign(load_private_key(key), data))
    return out


@pytest.mark.parametrize("release_id", ["..", ".", "current", "trusted.pub", ".hidden", "a/b"])
def test_a_signed_release_whose_id_is_a_path_or_reserved_is_refused(
    release: Path, release_key: Path, trust: Path, tmp_path: Path, release_id: str
) -> None:
    home = Home(tmp_path / "home")
    good = pull_from_dir(home, release, trust).release.manifest.release_id
    odd = _resigned_copy(release, release_key, tmp_path / "odd", release_id=release_id)
    with pytest.raises(ReleaseError, match="release id"):
        pull_from_dir(home, odd, trust)
    assert not (home.root / "manifest.json").exists()
    assert not (home.releases / "manifest.json").exists()
    assert current_release_id(home) == good
    load_current_release(home)  # the home still works


def test_a_current_file_that_names_a_path_is_a_one_line_error_and_a_pull_repairs_it(
    release: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home")
    pull_from_dir(home, release, trust)
    (home.releases / CURRENT).write_text("..\n")
    with pytest.raises(ReleaseError, match="release id '..'"):
        load_current_release(home)
    assert client_main(["status", "--home", str(home.root)]) == 0
    assert "DOES NOT VERIFY" in capsys.readouterr().out
    pull_from_dir(home, release, trust)
    load_current_release(home)


def test_pulling_a_good_release_again_repairs_a_damaged_blob_and_status_says_so(
    release: Path, trust: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home")
    installed = pull_from_dir(home, release, trust).release
    ref = installed.manifest.task_vectors[0].blob
    path = blob_path(home.root, ref.sha256)
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))  # the release folder's hard link sees the flip too
    with pytest.raises(ReleaseError, match="sha256"):
        read_blob(installed.root, ref, what="task vector")
    assert client_main(["status", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    assert "DOES NOT VERIFY" in out and ref.sha256[:12] in out

    again = pull_from_dir(home, release, trust)
    assert again.blobs_fetched == 1 and again.already_current
    read_blob(installed.root, ref, what="task vector")
    verify_release(installed.root, load_public_key(trust))
    assert client_main(["status", "--home", str(home.root)]) == 0
    assert "DOES NOT VERIFY" not in capsys.readouterr().out


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    yield path


@pytest.mark.parametrize("name", ["manifest.json", "manifest.sig"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_manifest_or_signature_that_never_ends_or_never_opens_is_refused(
    release: Path, trust: Path, tmp_path: Path, fifo: Path, name: str, kind: str
) -> None:
    source = tmp_path / "source"
    shutil.copytree(release, source)
    (source / name).unlink()
    (source / name).symlink_to(fifo if kind == "fifo" else Path("/dev/zero"))
    expected = "FIFO" if kind == "fifo" else "a device"
    with pytest.raises(ReleaseError, match=f"{name}.*{expected}"):
        pull_from_dir(Home(tmp_path / "home"), source, trust)
    with pytest.raises(ReleaseError, match=expected):
        verify_release(source, load_public_key(trust))


def test_a_manifest_past_its_limit_is_refused_before_it_is_read(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    shutil.copytree(release, source)
    with (source / "manifest.json").open("ab") as handle:
        handle.truncate(64 * 2**20)  # sparse: no disk, but 64 MiB to anyone who reads it
    with pytest.raises(ReleaseError, match="limit"):
        pull_from_dir(Home(tmp_path / "home"), source, trust)


def test_a_cached_blob_turned_into_a_fifo_is_refused_at_use_and_repaired_by_a_pull(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    installed = pull_from_dir(home, release, trust).release
    ref = installed.manifest.backbone.head
    for root in (home.root, installed.root):
        blob_path(root, ref.sha256).unlink()
        os.mkfifo(blob_path(root, ref.sha256))
    with pytest.raises(ReleaseError, match="FIFO"):
        read_blob(installed.root, ref, what="head")
    with pytest.raises(ReleaseError, match="FIFO"):
        verify_release(installed.root, load_public_key(trust))
    assert pull_from_dir(home, release, trust).blobs_fetched == 1
    read_blob(installed.root, ref, what="head")


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_pull_makes_the_home_and_its_cache_private_under_a_permissive_umask(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    old = os.umask(0o000)
    try:
        pull_from_dir(home, release, trust)
    finally:
        os.umask(old)
    for name, mode in _modes(home.root).items():
        assert mode & 0o077 == 0, f"{name} has mode {oct(mode)}"


def test_pull_into_a_read_only_home_is_a_one_line_error(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    """A home its owner made read-only (0500); as root, who writes anywhere, a home on a
    read-only bind mount in a private mount namespace instead."""
    home = tmp_path / "home"
    home.mkdir(mode=0o500)
    pull = [CLIENT, "pull", "--home", str(home), "--from-dir", str(release), "--trust", str(trust)]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("root without unshare(1): no way to make a home read-only for root")
        script = f'mount --bind -o ro "{home}" "{home}" && exec "$@"'
        pull = ["unshare", "--mount", "sh", "-c", script, "sh", *pull]
    try:
        done = subprocess.run(pull, capture_output=True, text=True, timeout=300, check=False)
    finally:
        home.chmod(0o700)
    if "unshare failed" in done.stderr or "mount:" in done.stderr:
        pytest.skip(f"this kernel refuses a private mount namespace: {done.stderr.strip()}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "Permission denied" in lines[0] or "Read-only file system" in lines[0], lines[0]
    assert not any(home.iterdir())
