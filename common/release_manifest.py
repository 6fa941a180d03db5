"""The release manifest: which backbone, head and task vectors a release holds, by sha256.

A manifest is canonical JSON (sorted keys, two-space indent, UTF-8, final newline), so the
bytes that are signed are the bytes that `Manifest.to_bytes` writes and `from_bytes` reads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tastevec.common.errors import ReleaseError

MANIFEST_FORMAT = "tastevec-release/1"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_RELEASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Names a device's release cache keeps beside its release folders (client/release_cache.py):
# a release may not be called one of them, since its id becomes a folder name there.
RESERVED_RELEASE_IDS = frozenset({"current", "trusted.pub", "blobs", "releases", "profiles"})
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_JSON_TYPES: dict[type, str] = {bool: "a boolean", int: "an integer", float: "a number"}
_JSON_TYPES |= {str: "a string", list: "an array", dict: "an object", type(None): "null"}


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A content-addressed blob: its sha256 (64 lowercase hex digits) and size in bytes."""

    sha256: str
    size: int

    def __post_init__(self) -> None:
        _check_sha256(self.sha256, "blob sha256")
        if not _is_int(self.size) or self.size < 0:
            raise ReleaseError(f"blob {self.sha256[:12]} has size {self.size!r}; need an int >= 0")


@dataclass(frozen=True, slots=True)
class BackboneEntry:
    """The base model: backbone weights, score-head initialisation and how to preprocess."""

    name: str
    architecture: str
    weights: BlobRef
    head_kind: str
    head: BlobRef
    preprocessing: dict[str, Any]
    base_digest: str

    def __post_init__(self) -> None:
        for name in ("name", "architecture", "head_kind"):
            _check_text(getattr(self, name), f"backbone {name}")
        _check_json(self.preprocessing, "backbone preprocessing")
        _check_sha256(self.base_digest, "backbone base_digest")


@dataclass(frozen=True, slots=True)
class TaskVectorEntry:
    """One task vector: the database it was trained on, its blob, training summary and scores."""

    source: str
    title: str
    kind: str
    blob: BlobRef
    encoding: str
    scope: str
    parameters: int
    training: dict[str, Any]
    metrics: dict[str, float]

    def __post_init__(self) -> None:
        _check_text(self.source, "task vector source")
        where = f"task vector {self.source!r}"
        for name in ("kind", "encoding", "scope"):
            _check_text(getattr(self, name), f"{where} {name}")
        if not isinstance(self.title, str):
            raise ReleaseError(f"{where} title must be a string")
        if not _is_int(self.parameters) or self.parameters < 0:
            raise ReleaseError(f"{where} parameters is {self.parameters!r}; need an int >= 0")
        _check_json(self.training, f"{where} training")
        if not isinstance(self.metrics, dict):
            raise ReleaseError(f"{where} metrics must be an object")
        for key, value in self.metrics.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not isinstance(key, str) or not number or not math.isfinite(value):
                raise ReleaseError(f"{where} metric {key!r} is {value!r}; need a finite number")


@dataclass(frozen=True, slots=True)
class PriorEntry:
    """A population prior over one layout's coefficients (see common/coefficient_prior.py)."""

    layout: str
    blob: BlobRef
    people: int

    def __post_init__(self) -> None:
        _check_text(self.layout, "prior layout")
        if not _is_int(self.people) or self.people < 0:
            raise ReleaseError(f"prior {self.layout!r} has people {self.people!r}; need >= 0")


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a release holds; signed as a whole by the server's Ed25519 key."""

    release_id: str
    created: str
    backbone: BackboneEntry
    task_vectors: tuple[TaskVectorEntry, ...]
    notes: dict[str, Any] = field(default_factory=dict)
    format: str = MANIFEST_FORMAT
    priors: tuple[PriorEntry, ...] = ()

    def __post_init__(self) -> None:
        if self.format != MANIFEST_FORMAT:
            raise ReleaseError(f"manifest format {self.format!r} is not {MANIFEST_FORMAT!r}")
        check_release_id(self.release_id)
        _check_created(self.created)
        sources = [entry.source for entry in self.task_vectors]
        duplicates = sorted({s for s in sources if sources.count(s) > 1})
        if duplicates:
            raise ReleaseError(f"task vector sources repeat: {', '.join(duplicates)}")
        layouts = [prior.layout for prior in self.priors]
        if len(set(layouts)) != len(layouts):
            raise ReleaseError(f"release {self.release_id} has two priors for one layout")
        _check_json(self.notes, f"release {self.release_id} notes")
        sizes: dict[str, int] = {}
        for ref in self._all_blobs():
            if sizes.setdefault(ref.sha256, ref.size) != ref.size:
                raise ReleaseError(
                    f"release {self.release_id}: blob {ref.sha256[:12]} is listed with sizes "
                    f"{sizes[ref.sha256]} and {ref.size}"
                )

    def blobs(self) -> tuple[BlobRef, ...]:
        """Backbone weights, head, then each task vector's blob; each sha256 once."""
        unique: dict[str, BlobRef] = {}
        for ref in self._all_blobs():
            unique.setdefault(ref.sha256, ref)
        return tuple(unique.values())

    def task_vector(self, source: str) -> TaskVectorEntry:
        for entry in self.task_vectors:
            if entry.source == source:
                return entry
        have = ", ".join(repr(e.source) for e in self.task_vectors) or "none"
        raise ReleaseError(f"release {self.release_id} has no task vector {source!r}; has {have}")

    @property
    def model_id(self) -> str:
        """'m-' and 16 hex digits naming the model alone: the backbone, its head and
        preprocessing, and the task vectors in order, but not the priors, the notes or the
        release's id. Two releases that differ only in their prior (a federated round's delta)
        share it, so values derived from an image under the model carry over."""
        model = {
            "backbone": asdict(self.backbone),
            "task_vectors": [
                [e.source, e.blob.sha256, e.encoding, e.scope] for e in self.task_vectors
            ],
        }
        text = json.dumps(model, sort_keys=True, ensure_ascii=False, allow_nan=False)
        return "m-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def prior(self, layout: str) -> PriorEntry | None:
        return next((p for p in self.priors if p.layout == layout), None)

    def to_bytes(self) -> bytes:
        document = asdict(self)
        if not self.priors:  # releases without a prior keep the bytes they always had
            del document["priors"]
        text = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        return (text + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, *, origin: str) -> Manifest:
        """Parse a manifest; any problem is a one-line ReleaseError starting with `origin`."""
        try:
            document = json.loads(
                data.decode("utf-8"),
                parse_constant=_refuse_constant,
                object_pairs_hook=_refuse_repeated_keys,
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise ReleaseError(f"{origin}: not valid UTF-8 JSON ({exc})") from exc
        try:
            return _manifest_from_json(document)
        except ReleaseError as exc:
            raise ReleaseError(f"{origin}: {exc}") from exc

    def _all_blobs(self) -> list[BlobRef]:
        refs = [self.backbone.weights, self.backbone.head]
        refs += [entry.blob for entry in self.task_vectors]
        return refs + [prior.blob for prior in self.priors]


def check_release_id(release_id: object) -> str:
    """`release_id` if it is safe as a folder name, else a ReleaseError.

    1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit (so never `.`,
    `..` or a hidden or temporary file's name), and none of RESERVED_RELEASE_IDS. Every place
    an id becomes a path checks it, the manifest's own id and an id read back from a file."""
    if not isinstance(release_id, str) or not _RELEASE_ID.fullmatch(release_id):
        raise ReleaseError(
            f"release id {release_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ -, "
            "starting with a letter or digit"
        )
    if release_id.lower() in RESERVED_RELEASE_IDS:
        raise ReleaseError(f"release id {release_id!r} is a reserved name; choose another")
    return release_id


def new_release_id(blob_digests: Iterable[str]) -> str:
    """'r-' and 16 hex digits of sha256 over the sorted distinct digests, one per line."""
    digests = sorted(set(blob_digests))
    for digest in digests:
        _check_sha256(digest, "blob digest")
    return "r-" + hashlib.sha256("\n".join(digests).encode()).hexdigest()[:16]


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _manifest_from_json(document: object) -> Manifest:
    if not isinstance(document, dict):
        raise ReleaseError("the manifest is not a JSON object")
    if "format" not in document:
        raise ReleaseError("no 'format' field; this is not a tastevec release manifest")
    if document["format"] != MANIFEST_FORMAT:
        raise ReleaseError(f"format {document['format']!r} is not {MANIFEST_FORMAT!r}")
    spec: dict[str, type] = dict(
        format=str, release_id=str, created=str, backbone=dict, task_vectors=list, notes=dict
    )
    obj = _typed_fields(document, "", spec | {"priors": list}, optional=("notes", "priors"))
    obj["priors"] = tuple(
        _prior_from_json(entry, f"priors[{i}]") for i, entry in enumerate(obj.get("priors", []))
    )
    obj["backbone"] = _backbone_from_json(obj["backbone"], "backbone")
    obj["task_vectors"] = tuple(
        _task_vector_from_json(entry, f"task_vectors[{i}]")
        for i, entry in enumerate(obj["task_vectors"])
    )
    return Manifest(**obj)


def _backbone_from_json(value: object, where: str) -> BackboneEntry:
    spec: dict[str, type] = dict(
        name=str, architecture=str, weights=dict, head_kind=str, head=dict, preprocessing=dict
    )
    obj = _typed_fields(value, where, spec | {"base_digest": str})
    for name in ("weights", "head"):
        obj[name] = _blob_from_json(obj[name], f"{where}.{name}")
    return BackboneEntry(**obj)


def _task_vector_from_json(value: object, where: str) -> TaskVectorEntry:
    spec: dict[str, type] = dict(source=str, title=str, kind=str, blob=dict, encoding=str)
    spec |= dict(scope=str, parameters=int, training=dict, metrics=dict)
    obj = _typed_fields(value, where, spec)
    obj["blob"] = _blob_from_json(obj["blob"], f"{where}.blob")
    return TaskVectorEntry(**obj)


def _prior_from_json(value: object, where: str) -> PriorEntry:
    obj = _typed_fields(value, where, {"layout": str, "blob": dict, "people": int})
    obj["blob"] = _blob_from_json(obj["blob"], f"{where}.blob")
    return PriorEntry(**obj)


def _blob_from_json(value: object, where: str) -> BlobRef:
    return BlobRef(**_typed_fields(value, where, {"sha256": str, "size": int}))


def _typed_fields(
    value: object, where: str, spec: dict[str, type], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`value`'s fields in a new dict: each in `spec` (unless optional) of its type, no other."""
    if not isinstance(value, dict):
        raise ReleaseError(f"field '{where}' must be an object, not {_json_type(value)}")
    for name in value:
        if name not in spec:
            raise ReleaseError(f"field '{_join(where, name)}' is unknown")
    fields: dict[str, Any] = {}
    for name, kind in spec.items():
        if name not in value:
            if name in optional:
                continue
            raise ReleaseError(f"field '{_join(where, name)}' is missing")
        item = value[name]
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise ReleaseError(
                f"field '{_join(where, name)}' must be {_JSON_TYPES[kind]}, not {_json_type(item)}"
            )
        fields[name] = item
    return fields


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Repeated keys would let two JSON readers see two different manifests in one text."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_sha256(value: object, what: str) -> None:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ReleaseError(f"{what} {value!r} is not 64 lowercase hex digits")


def _check_text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ReleaseError(f"{what} {value!r} must be a non-empty string without outer spaces")


def _check_created(value: object) -> None:
    if isinstance(value, str) and _CREATED.fullmatch(value):
        with contextlib.suppress(ValueError):
            datetime.fromisoformat(value)
            return
    raise ReleaseError(f"created {value!r} is not ISO-8601 UTC like 2026-11-29T11:40:00Z")


def _check_json(value: object, what: str) -> None:
    """Free-form JSON (notes, training) must be an object that serialises the same way back."""
    if not isinstance(value, dict):
        raise ReleaseError(f"{what} must be an object")
    try:
        json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ReleaseError(f"{what} is not plain JSON ({exc})") from exc
