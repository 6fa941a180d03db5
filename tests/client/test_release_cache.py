"""Installing a verified release into a person's home, and refusing what does not verify."""

import shutil
from pathlib import Path

import pytest

from tastevec.client.home import Home
from tastevec.client.release_cache import (
    current_release_id,
    installed_release_ids,
    load_current_release,
    pull_from_dir,
)
from tastevec.common.errors import KeyFileError, ReleaseError
from tastevec.common.release import blob_path, read_blob
from tastevec.server.keys import generate_key_pair


def test_pull_installs_verifies_and_shares_blobs(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    first = pull_from_dir(home, release, trust)
    assert current_release_id(home) == first.release.manifest.release_id
    assert first.blobs_fetched == len(first.release.manifest.blobs())
    assert installed_release_ids(home) == [first.release.manifest.release_id]
    again = pull_from_dir(home, release, trust)
    assert again.already_current and again.blobs_fetched == 0
    installed = load_current_release(home)
    ref = installed.manifest.backbone.weights
    cached = blob_path(home.root, ref.sha256).stat().st_ino
    assert blob_path(installed.root, ref.sha256).stat().st_ino == cached  # shared in the home
    assert blob_path(release, ref.sha256).stat().st_ino != cached  # never with the source


def test_a_tampered_release_is_refused_and_the_current_one_stays(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    good = pull_from_dir(home, release, trust).release.manifest.release_id
    bad = tmp_path / "bad"
    shutil.copytree(release, bad)
    manifest = bad / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"ava"', '"avb"', 1))
    with pytest.raises(ReleaseError, match="signature"):
        pull_from_dir(home, bad, trust)
    assert current_release_id(home) == good


def test_a_release_signed_by_another_key_is_refused(release: Path, tmp_path: Path) -> None:
    _, other_public = generate_key_pair(tmp_path / "other-key")
    with pytest.raises(ReleaseError, match="signature"):
        pull_from_dir(Home(tmp_path / "home"), release, other_public)
    with pytest.raises(KeyFileError):
        pull_from_dir(Home(tmp_path / "home"), release, tmp_path / "missing.pub")


def test_a_blob_changed_in_the_cache_is_caught_when_read(
    release: Path, trust: Path, tmp_path: Path
) -> None:
    home = Home(tmp_path / "home")
    installed = pull_from_dir(home, release, trust).release
    ref = installed.manifest.task_vectors[0].blob
    path = blob_path(home.root, ref.sha256)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="sha256"):
        read_blob(installed.root, ref, what="task vector")


def test_no_release_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="no release installed.*pull"):
        load_current_release(Home(tmp_path / "home"))
