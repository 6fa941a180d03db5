import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tastevec.common.errors import ReleaseError
from tastevec.common.release_manifest import (
    MANIFEST_FORMAT,
    BackboneEntry,
    BlobRef,
    Manifest,
    PriorEntry,
    TaskVectorEntry,
    check_release_id,
    new_release_id,
    utc_now_iso,
)


def digest(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def task_vector(source: str, blob: BlobRef | None = None) -> TaskVectorEntry:
    return TaskVectorEntry(
        source=source,
        title=f"Photos from {source} — é",
        kind="iqa",
        blob=blob or BlobRef(digest(source), 1000),
        encoding="float16",
        scope="full",
        parameters=3_400_000,
        training={"steps": 200, "loss": 0.0123, "seconds": 41.5, "schedule": [1, 2]},
        metrics={"srocc": 0.8125, "plcc": 0.83, "test_images": 2015},
    )


def manifest(*sources: str) -> Manifest:
    backbone = BackboneEntry(
        name="efficientnet-lite0",
        architecture="tf_efficientnet_lite0",
        weights=BlobRef(digest("weights"), 18_000_000),
        head_kind="linear",
        head=BlobRef(digest("head"), 5_000),
        preprocessing={"size": 224, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
        base_digest=digest("base"),
    )
    return Manifest(
        release_id="r-0123456789abcdef",
        created="2026-11-29T11:40:00Z",
        backbone=backbone,
        task_vectors=tuple(task_vector(s) for s in sources or ("koniq10k", "spaq", "ava")),
        notes={"tool": "tastevec 0.1.0"},
    )


def edited(edit: Any) -> bytes:
    document = json.loads(manifest().to_bytes())
    edit(document)
    return json.dumps(document).encode()


def test_a_manifest_round_trips_to_the_same_bytes() -> None:
    original = manifest()
    data = original.to_bytes()
    parsed = Manifest.from_bytes(data, origin="m.json")
    assert parsed == original
    assert parsed.to_bytes() == data
    assert data.endswith(b"}\n") and "— é".encode() in data
    canonical = json.dumps(json.loads(data), sort_keys=True, indent=2, ensure_ascii=False)
    assert data == (canonical + "\n").encode("utf-8")
    assert json.loads(data)["format"] == MANIFEST_FORMAT == "tastevec-release/1"


def test_notes_are_optional_and_ints_and_floats_keep_their_type() -> None:
    document = json.loads(manifest().to_bytes())
    del document["notes"]
    parsed = Manifest.from_bytes(json.dumps(document).encode(), origin="m")
    assert parsed.notes == {}
    metrics = parsed.task_vector("spaq").metrics
    assert metrics == {"srocc": 0.8125, "plcc": 0.83, "test_images": 2015}
    assert isinstance(metrics["test_images"], int)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", r"^m\.json: not valid UTF-8 JSON"),
        (b"\xff\xfe", r"^m\.json: not valid UTF-8 JSON"),
        (b"[]", r"^m\.json: the manifest is not a JSON object"),
        (edited(lambda d: d.pop("format")), r"no 'format' field"),
        (edited(lambda d: d.update(format="tastevec-release/2")), r"'tastevec-release/2' is not"),
        (edited(lambda d: d.pop("created")), r"field 'created' is missing"),
        (edited(lambda d: d["task_vectors"][1].pop("metrics")), r"'task_vectors\[1\]\.metrics"),
        (edited(lambda d: d["backbone"]["head"].update(size="5")), r"'backbone\.head\.size' must"),
        (edited(lambda d: d["backbone"]["head"].update(size=True)), r"integer, not a boolean"),
        (edited(lambda d: d.update(task_vectors={})), r"'task_vectors' must be an array"),
        (edited(lambda d: d["backbone"].update(extra=1)), r"field 'backbone\.extra' is unknown"),
        (edited(lambda d: d["task_vectors"][2].update(source="spaq")), r"sources repeat: spaq"),
        (edited(lambda d: d["backbone"].update(base_digest="AB" * 32)), r"not 64 lowercase hex"),
        (edited(lambda d: d.update(created="2026-11-29 11:40")), r"not ISO-8601 UTC"),
        (edited(lambda d: d.update(release_id="../etc")), r"release id '\.\./etc' must be"),
        (edited(lambda d: d["task_vectors"][0]["metrics"].update(srocc="hi")), "finite number"),
        (b'{"format": "tastevec-release/1", "format": "x"}', r"'format' appears twice"),
        (manifest().to_bytes().replace(b"0.8125", b"NaN", 1), r"NaN is not JSON"),
    ],
)
def test_a_bad_manifest_is_one_line_naming_its_origin_and_field(data: bytes, message: str) -> None:
    with pytest.raises(ReleaseError, match=message) as caught:
        Manifest.from_bytes(data, origin="m.json")
    assert str(caught.value).startswith("m.json: ")
    assert "\n" not in str(caught.value)


def test_entries_refuse_values_a_peer_could_send() -> None:
    with pytest.raises(ReleaseError, match="not 64 lowercase hex"):
        BlobRef("abc", 1)
    with pytest.raises(ReleaseError, match="need an int >= 0"):
        BlobRef(digest("x"), -1)
    with pytest.raises(ReleaseError, match="sources repeat: spaq"):
        manifest("spaq", "koniq10k", "spaq")
    with pytest.raises(ReleaseError, match="not plain JSON"):
        replace(manifest(), notes={"bad": float("inf")})
    with pytest.raises(ReleaseError, match="listed with sizes 1000 and 7"):
        replace(
            manifest(), task_vectors=(task_vector("a"), task_vector("b", BlobRef(digest("a"), 7)))
        )
    with pytest.raises(ReleaseError, match="non-empty string"):
        task_vector(" ")


def test_blobs_are_backbone_head_then_task_vectors_each_once() -> None:
    shared = BlobRef(digest("koniq10k"), 1000)
    m = replace(manifest(), task_vectors=(*manifest().task_vectors, task_vector("copy", shared)))
    assert [ref.sha256 for ref in m.blobs()] == [
        digest(label) for label in ("weights", "head", "koniq10k", "spaq", "ava")
    ]


def test_a_task_vector_is_found_by_source_or_named_as_missing() -> None:
    assert manifest().task_vector("spaq").source == "spaq"
    with pytest.raises(
        ReleaseError, match=r"no task vector 'livec'; has 'koniq10k', 'spaq', 'ava'"
    ):
        manifest().task_vector("livec")


def test_a_release_id_depends_only_on_the_set_of_blob_digests() -> None:
    digests = [digest(label) for label in ("a", "b", "c")]
    release_id = new_release_id(digests)
    assert re.fullmatch(r"r-[0-9a-f]{16}", release_id)
    assert new_release_id(reversed(digests)) == release_id
    expected = hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()[:16]
    assert release_id == f"r-{expected}"
    assert new_release_id(digests[:2]) != release_id
    with pytest.raises(ReleaseError, match="not 64 lowercase hex"):
        new_release_id(["../x"])


def test_utc_now_is_an_acceptable_creation_time() -> None:
    now = utc_now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", now)
    assert datetime.fromisoformat(now).utcoffset() is not None
    assert replace(manifest(), created=now).created == now


def test_priors_are_optional_and_listed_as_blobs() -> None:
    plain = Manifest.from_bytes(manifest("ava").to_bytes(), origin="m")
    assert plain.priors == () and b'"priors"' not in plain.to_bytes()
    ref = BlobRef("e" * 64, 123)
    with_prior = replace(plain, priors=(PriorEntry("block", ref, 40),))
    again = Manifest.from_bytes(with_prior.to_bytes(), origin="m")
    assert again.prior("block") == PriorEntry("block", ref, 40) and again.prior("tensor") is None
    assert ref in again.blobs()
    with pytest.raises(ReleaseError, match="two priors"):
        replace(plain, priors=(PriorEntry("block", ref, 1),) * 2)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (dict keys and list indexes down to each value)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


_GOOD = json.loads(manifest().to_bytes())
_PLACES = _paths(_GOOD)[1:]


@settings(max_examples=400, deadline=None)
@given(place=st.sampled_from(_PLACES), value=_JSON, delete=st.booleans())
def test_any_edit_of_a_manifest_gives_a_manifest_or_a_release_error(
    place: tuple[Any, ...], value: Any, delete: bool
) -> None:
    """A real manifest with any one field replaced by arbitrary JSON (or deleted): a Manifest
    that writes the same bytes back, or a one-line ReleaseError; never another exception."""
    document = json.loads(json.dumps(_GOOD))
    parent = document
    for key in place[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[place[-1]]
    else:
        parent[place[-1]] = value
    data = json.dumps(document).encode()
    try:
        parsed = Manifest.from_bytes(data, origin="release x")
    except ReleaseError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("release x")
        return
    assert Manifest.from_bytes(parsed.to_bytes(), origin="again") == parsed


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_give_a_manifest_or_a_release_error(data: bytes) -> None:
    with pytest.raises(ReleaseError):
        Manifest.from_bytes(data, origin="release x")


@pytest.mark.parametrize(
    "release_id", ["..", ".", "current", "CURRENT", "trusted.pub", "blobs", ".x", "-x", "a/b", ""]
)
def test_a_release_id_that_is_a_path_or_a_reserved_name_is_refused(release_id: str) -> None:
    with pytest.raises(ReleaseError, match="release id"):
        check_release_id(release_id)
    with pytest.raises(ReleaseError, match="release id"):
        replace(manifest(), release_id=release_id)


@settings(max_examples=500, deadline=None)
@given(release_id=st.text(max_size=70) | st.from_regex(r"[.A-Za-z0-9_-]{1,66}", fullmatch=True))
def test_any_release_id_is_one_folder_name_below_its_parent_or_a_release_error(
    release_id: str,
) -> None:
    """Accepted ids name exactly one new entry inside the folder they are joined to: never
    `.`, `..`, a separator, a hidden file or a name the cache keeps for itself."""
    try:
        checked = check_release_id(release_id)
    except ReleaseError as exc:
        assert "\n" not in str(exc)
        return
    joined = PurePosixPath("/home/releases") / checked
    assert joined.parent == PurePosixPath("/home/releases") and joined.name == checked
    assert checked not in {".", ".."} and not checked.startswith(".")
    assert checked.lower() not in {"current", "trusted.pub"}


def test_the_model_id_names_the_model_and_not_the_prior_or_the_release() -> None:
    plain = manifest("ava")
    with_prior = replace(
        plain,
        release_id="r-other",
        notes={"why": "a federated round"},
        priors=(PriorEntry("block", BlobRef("c" * 64, 10), 7),),
    )
    assert with_prior.model_id == plain.model_id
    assert plain.model_id.startswith("m-") and len(plain.model_id) == 18
    vector = plain.task_vectors[0]
    other_blob = replace(vector, blob=BlobRef("d" * 64, vector.blob.size))
    assert replace(plain, task_vectors=(other_blob,)).model_id != plain.model_id
    assert manifest("ava", "para").model_id != plain.model_id
    other_size = replace(
        plain.backbone, preprocessing={**plain.backbone.preprocessing, "size": 999}
    )
    assert replace(plain, backbone=other_size).model_id != plain.model_id
