"""The content-addressed release store: shared blobs, verified publishes, no path outside."""

from pathlib import Path

import pytest

from tastevec.common.errors import KeyFileError, ReleaseError
from tastevec.common.release import verify_release
from tastevec.common.release_manifest import BlobRef
from tastevec.common.signing import load_private_key, load_public_key
from tastevec.server.keys import generate_key_pair
from tastevec.server.release_errors import NotFoundError, PermissionDeniedError
from tastevec.server.release_store import ReleaseStore
from tastevec.simulations.benchmarks.synthetic_release import add_prior, add_task_vector


def blob_files(store: Path) -> set[str]:
    return {p.name for p in (store / "blobs").iterdir()}


def test_publishing_a_release_that_adds_one_task_vector_adds_one_blob(
    small_release: Path, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    first = store.publish_from_dir(small_release)
    assert first.published and first.current and first.missing == ()
    assert len(blob_files(store.root)) == 4
    base = verify_release(small_release, load_public_key(service_key[1]))
    key = load_private_key(service_key[0])
    second = add_task_vector(
        small_release,
        base,
        tmp_path / "r2",
        key,
        source="ava",
        size=999,
        created="2026-12-02T00:00:00Z",
    )
    outcome = store.publish_from_dir(tmp_path / "r2")
    assert outcome.current and outcome.release_id == second.release_id
    assert blob_files(store.root) - {r.sha256 for r in base.blobs()} == {
        second.task_vector("ava").blob.sha256
    }
    third = add_prior(
        tmp_path / "r2",
        second,
        tmp_path / "r3",
        key,
        prior=b"p" * 300,
        created="2026-12-03T00:00:00Z",
    )
    assert store.publish_from_dir(tmp_path / "r3").current
    assert len(blob_files(store.root)) == 6
    listing = store.listing()
    assert [s.release_id for s in listing.releases] == [
        base.release_id,
        second.release_id,
        third.release_id,
    ]
    assert listing.current_release_id == third.release_id
    assert store.prior(None, "global").blob.size == 300
    with pytest.raises(NotFoundError, match="no 'block' prior"):
        store.prior(None, "block")
    # an older release published again never takes current back (no rollback)
    again = store.publish_from_dir(small_release)
    assert again.published and not again.current
    assert store.current_release_id() == third.release_id


def test_a_release_signed_by_another_key_is_refused_and_nothing_is_added(
    small_release: Path, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    _, other = generate_key_pair(tmp_path / "other")
    store = ReleaseStore.open(tmp_path / "store", trust=other)
    with pytest.raises(ReleaseError, match="signature does not verify"):
        store.publish_from_dir(small_release)
    manifest = (small_release / "manifest.json").read_bytes()
    signature = (small_release / "manifest.sig").read_bytes()
    with pytest.raises(PermissionDeniedError, match="refused"):
        store.publish(manifest, signature)
    assert store.listing().releases == () and not blob_files(store.root)
    with pytest.raises(KeyFileError, match="trusts another key"):
        ReleaseStore.open(tmp_path / "store", trust=service_key[1])


def test_a_store_without_a_key_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="--trust KEY.pub"):
        ReleaseStore.open(tmp_path / "store")


@pytest.mark.parametrize("name", ["..", "../r", "/etc", "a/b", ".hidden", "current", "", "x" * 65])
def test_no_release_id_reaches_outside_the_store(
    name: str, small_release: Path, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    store.publish_from_dir(small_release)
    with pytest.raises(ReleaseError):
        store.signed_manifest(name or "")


@pytest.mark.parametrize("digest", ["../" * 5 + "etc/passwd", "/" + "a" * 63, "A" * 64, "a" * 63])
def test_no_digest_reaches_outside_the_store(
    digest: str, service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    with pytest.raises(ReleaseError), store.open_blob(digest):
        pass


def test_an_upload_is_checked_as_it_arrives(service_key: tuple[Path, Path], tmp_path: Path) -> None:
    import hashlib

    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    data = b"0123456789" * 100
    ref = BlobRef(hashlib.sha256(data).hexdigest(), len(data))
    with pytest.raises(ReleaseError, match="more than its 1000 bytes"):
        store.add_blob(ref, iter([data, b"x"]))  # endless data is cut off
    with pytest.raises(ReleaseError, match="999 bytes of 1000"):
        store.add_blob(ref, [data[:-1]])
    wrong = BlobRef("0" * 64, len(data))
    with pytest.raises(ReleaseError, match="its bytes have sha256"):
        store.add_blob(wrong, [data])
    assert not blob_files(store.root) and not list((store.root / "incoming").iterdir())
    assert store.add_blob(ref, [data[:500], data[500:]]) is True
    assert store.add_blob(ref, [data]) is False
    with store.open_blob(ref.sha256) as (handle, size):
        assert size == 1000 and handle.read() == data


def test_what_a_killed_upload_left_in_incoming_is_removed_when_the_store_opens(
    service_key: tuple[Path, Path], tmp_path: Path
) -> None:
    import os
    import time

    from tastevec.server.release_store import STALE_INCOMING_SECONDS

    store = ReleaseStore.open(tmp_path / "store", trust=service_key[1])
    incoming = store.root / "incoming"
    stale_part = incoming / f".{'a' * 64}.x1.part"  # as add_blob names its temporary file
    stale_part.write_bytes(b"half an upload")
    stale_release = incoming / ".publish-x2"  # as a release folder is written
    stale_release.mkdir()
    (stale_release / "manifest.json").write_bytes(b"{}")
    fresh_part = incoming / f".{'b' * 64}.x3.part"  # another replica's upload in flight
    fresh_part.write_bytes(b"being written")
    old = time.time() - STALE_INCOMING_SECONDS - 60
    for path in (stale_part, stale_release / "manifest.json", stale_release):
        os.utime(path, (old, old))
    ReleaseStore.open(store.root)  # as `serve` or `publish` starts
    assert sorted(p.name for p in incoming.iterdir()) == [fresh_part.name]
