import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tastevec.common.errors import ReleaseError
from tastevec.common.release import (
    MANIFEST_FILE,
    SIGNATURE_FILE,
    blob_path,
    link_blob,
    missing_blobs,
    read_blob,
    sign_release,
    verify_release,
    write_blob,
)
from tastevec.common.release_manifest import (
    BackboneEntry,
    BlobRef,
    Manifest,
    TaskVectorEntry,
    new_release_id,
)
from tastevec.common.signing import generate_private_key

SOURCES = ("koniq10k", "spaq", "ava")
ROLES = ("backbone weights", "head", *(f"task vector '{s}'" for s in SOURCES))


@dataclass
class Release:
    root: Path
    manifest: Manifest
    key: Ed25519PrivateKey

    def blob(self, role: str) -> Path:
        return blob_path(
            self.root, dict(zip(ROLES, self.manifest.blobs(), strict=True))[role].sha256
        )


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def task_vector(root: Path, source: str, seed: int) -> TaskVectorEntry:
    return TaskVectorEntry(
        source=source,
        title=source.upper(),
        kind="iqa",
        blob=write_blob(root, random_bytes(seed, 3000 + seed)),
        encoding="float16",
        scope="full",
        parameters=1500 + seed,
        training={"steps": 10, "loss": 0.25},
        metrics={"srocc": 0.75, "plcc": 0.5, "test_images": 100},
    )


def build(root: Path, key: Ed25519PrivateKey, entries: tuple[TaskVectorEntry, ...]) -> Manifest:
    backbone = BackboneEntry(
        name="tiny",
        architecture="test_tiny",
        weights=write_blob(root, random_bytes(1, 8192)),
        head=write_blob(root, random_bytes(2, 512)),
        head_kind="linear",
        preprocessing={"size": 32},
        base_digest="0" * 64,
    )
    refs = [backbone.weights.sha256, backbone.head.sha256, *(e.blob.sha256 for e in entries)]
    manifest = Manifest(new_release_id(refs), "2026-11-29T11:40:00Z", backbone, entries)
    sign_release(root, manifest, key)
    return manifest


@pytest.fixture
def release(tmp_path: Path) -> Release:
    root, key = tmp_path / "r1", generate_private_key()
    entries = tuple(task_vector(root, s, 10 + i) for i, s in enumerate(SOURCES))
    return Release(root, build(root, key, entries), key)


def rewrite(path: Path, data: bytes) -> None:
    path.chmod(0o644)  # blobs are written read-only
    path.write_bytes(data)


def flip_byte(path: Path, index: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[index] ^= 0x01
    rewrite(path, bytes(data))


def refused(release: Release, message: str) -> str:
    with pytest.raises(ReleaseError, match=message) as caught:
        verify_release(release.root, release.key.public_key())
    assert str(caught.value).startswith(f"release {release.root}: ")
    return str(caught.value)


def test_a_signed_release_verifies_and_lays_out_its_files(release: Release) -> None:
    assert verify_release(release.root, release.key.public_key()) == release.manifest
    assert (release.root / MANIFEST_FILE).read_bytes() == release.manifest.to_bytes()
    assert len((release.root / SIGNATURE_FILE).read_bytes()) == 64
    names = sorted(p.name for p in (release.root / "blobs").iterdir())
    assert names == sorted(ref.sha256 for ref in release.manifest.blobs())
    assert all(blob_path(release.root, n).stat().st_mode & 0o777 == 0o444 for n in names)


@pytest.mark.parametrize("role", ROLES)
def test_a_flipped_byte_in_any_blob_is_refused(release: Release, role: str) -> None:
    path = release.blob(role)
    flip_byte(path)
    message = refused(release, r"has sha256 [0-9a-f]{12}, the manifest says [0-9a-f]{12}; refusing")
    assert f"blob {path.name[:12]} ({role})" in message


@pytest.mark.parametrize("role", ROLES)
def test_a_blob_with_an_extra_byte_or_none_at_all_is_refused(release: Release, role: str) -> None:
    path = release.blob(role)
    size = path.stat().st_size
    rewrite(path, path.read_bytes() + b"\0")
    assert f"({role}) has {size + 1} bytes, the manifest says {size}" in refused(release, "bytes")
    path.unlink()
    assert f"blob {path.name[:12]} ({role}) is missing" in refused(release, "is missing")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda text: text.replace('"srocc": 0.75', '"srocc": 0.95', 1),
        lambda text: text.replace("\n  ", "\n    "),
        lambda text: text.rstrip("\n"),
        lambda text: text.replace('"koniq10k"', '"koniq10K"', 1),
    ],
    ids=["metric", "whitespace", "final-newline", "one-letter"],
)
def test_any_change_to_the_manifest_text_breaks_the_signature(
    release: Release, tamper: Callable[[str], str]
) -> None:
    path = release.root / MANIFEST_FILE
    text = path.read_text()
    assert tamper(text) != text
    path.write_text(tamper(text))
    refused(release, rf"{MANIFEST_FILE}: signature does not verify with the given public key")


def test_a_flipped_bit_in_the_manifest_bytes_breaks_the_signature(release: Release) -> None:
    flip_byte(release.root / MANIFEST_FILE, index=50)
    refused(release, "signature does not verify")


def test_a_changed_truncated_or_missing_signature_is_refused(release: Release) -> None:
    path = release.root / SIGNATURE_FILE
    flip_byte(path, index=10)
    refused(release, "signature does not verify")
    path.write_bytes(path.read_bytes()[:40])
    refused(release, "signature does not verify .*it has 40 bytes")
    path.unlink()
    refused(release, f"no {SIGNATURE_FILE}$")
    (release.root / MANIFEST_FILE).unlink()
    refused(release, f"no {MANIFEST_FILE}$")


def test_another_public_key_is_refused(release: Release) -> None:
    with pytest.raises(ReleaseError, match="signature does not verify with the given public key"):
        verify_release(release.root, generate_private_key().public_key())


def test_a_blob_changed_after_verification_is_caught_when_read(release: Release) -> None:
    manifest = verify_release(release.root, release.key.public_key())
    ref = manifest.task_vector("spaq").blob
    assert len(read_blob(release.root, ref, what="spaq")) == ref.size
    flip_byte(blob_path(release.root, ref.sha256), index=0)
    with pytest.raises(ReleaseError, match=rf"^spaq: blob {ref.sha256[:12]} has sha256"):
        read_blob(release.root, ref, what="spaq")
    blob_path(release.root, ref.sha256).unlink()
    with pytest.raises(ReleaseError, match=rf"^spaq: blob {ref.sha256[:12]} is missing"):
        read_blob(release.root, ref, what="spaq")


def test_signing_refuses_a_manifest_whose_blobs_are_not_all_there(release: Release) -> None:
    (release.root / SIGNATURE_FILE).unlink()
    ghost = replace(release.manifest.task_vectors[0], source="ghost", blob=BlobRef("e" * 64, 5))
    bigger = replace(release.manifest, task_vectors=(*release.manifest.task_vectors, ghost))
    with pytest.raises(ReleaseError, match=r"blob eeeeeeeeeeee \(task vector 'ghost'\) is missing"):
        sign_release(release.root, bigger, release.key)
    flip_byte(release.blob("head"))
    with pytest.raises(ReleaseError, match=r"\(head\) has sha256"):
        sign_release(release.root, release.manifest, release.key)
    assert not (release.root / SIGNATURE_FILE).exists()


def test_a_new_release_links_unchanged_blobs_and_devices_fetch_only_new_ones(
    release: Release, tmp_path: Path
) -> None:
    root = tmp_path / "r2"
    old = release.manifest
    for ref in old.blobs()[:4]:  # backbone, head, koniq10k, spaq; ava is retrained
        link_blob(root, release.root, ref)
    link_blob(root, release.root, old.blobs()[0])  # again: nothing to do
    retrained = task_vector(root, "ava", seed=99)
    manifest = build(root, release.key, (*old.task_vectors[:2], retrained))
    assert verify_release(root, release.key.public_key()) == manifest
    assert manifest.release_id != old.release_id
    for ref in old.blobs()[:4]:
        assert (
            blob_path(root, ref.sha256).stat().st_ino
            == blob_path(release.root, ref.sha256).stat().st_ino
        )
    assert missing_blobs(manifest, (ref.sha256 for ref in old.blobs())) == (retrained.blob,)
    assert missing_blobs(manifest, []) == manifest.blobs()
    assert missing_blobs(manifest, [ref.sha256 for ref in manifest.blobs()]) == ()


def test_linking_refuses_a_changed_or_missing_source_blob(release: Release, tmp_path: Path) -> None:
    ref = release.manifest.task_vector("ava").blob
    flip_byte(blob_path(release.root, ref.sha256))
    with pytest.raises(ReleaseError, match=rf"release {release.root}: blob {ref.sha256[:12]} has"):
        link_blob(tmp_path / "r2", release.root, ref)
    blob_path(release.root, ref.sha256).unlink()
    with pytest.raises(ReleaseError, match="is missing"):
        link_blob(tmp_path / "r2", release.root, ref)
    assert not (tmp_path / "r2").exists()


def test_unchecked_linking_keeps_only_the_same_file_and_verify_still_catches_a_bad_source(
    release: Release, tmp_path: Path
) -> None:
    root = tmp_path / "r2"
    for ref in release.manifest.blobs():
        link_blob(root, release.root, ref, check=False)
    ref = release.manifest.task_vector("ava").blob
    target = blob_path(root, ref.sha256)
    inode = target.stat().st_ino
    link_blob(root, release.root, ref, check=False)  # the same file: kept
    assert target.stat().st_ino == inode
    target.unlink()
    target.write_bytes(b"not the blob")  # another file under the name: replaced by a link
    link_blob(root, release.root, ref, check=False)
    assert target.stat().st_ino == blob_path(release.root, ref.sha256).stat().st_ino
    flip_byte(blob_path(release.root, ref.sha256))  # unchecked: linked as it is, then refused
    (root / MANIFEST_FILE).hardlink_to(release.root / MANIFEST_FILE)
    (root / SIGNATURE_FILE).hardlink_to(release.root / SIGNATURE_FILE)
    with pytest.raises(ReleaseError, match=rf"blob {ref.sha256[:12]} .*has sha256"):
        verify_release(root, release.key.public_key())
    blob_path(release.root, ref.sha256).unlink()
    with pytest.raises(ReleaseError, match="is missing"):
        link_blob(tmp_path / "r3", release.root, ref, check=False)


def test_writing_a_blob_twice_keeps_the_first_file_and_repairs_a_bad_one(tmp_path: Path) -> None:
    data = random_bytes(5, 4096)
    ref = write_blob(tmp_path, data)
    path = blob_path(tmp_path, ref.sha256)
    before = path.stat()
    assert write_blob(tmp_path, data) == ref == BlobRef(ref.sha256, 4096)
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    flip_byte(path)
    write_blob(tmp_path, data)
    assert path.read_bytes() == data
    assert sorted(os.listdir(path.parent)) == [ref.sha256]


def test_a_blob_path_is_only_ever_a_sha256_inside_the_release(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="not 64 lowercase hex"):
        blob_path(tmp_path, "../../etc/passwd")


def test_a_blob_on_another_filesystem_is_copied_instead(release: Release) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == release.root.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem other than the test's temporary directory")
    ref = release.manifest.task_vector("ava").blob
    with tempfile.TemporaryDirectory(dir=shm) as other:
        link_blob(Path(other), release.root, ref)
        copy = blob_path(Path(other), ref.sha256)
        assert copy.read_bytes() == blob_path(release.root, ref.sha256).read_bytes()
        assert copy.stat().st_mode & 0o777 == 0o444
        assert sorted(os.listdir(copy.parent)) == [ref.sha256]
