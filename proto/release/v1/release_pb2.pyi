from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListReleasesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReleaseSummary(_message.Message):
    __slots__ = ("release_id", "created", "total_bytes")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    created: str
    total_bytes: int
    def __init__(self, release_id: _Optional[str] = ..., created: _Optional[str] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class ListReleasesResponse(_message.Message):
    __slots__ = ("releases", "current_release_id")
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    releases: _containers.RepeatedCompositeFieldContainer[ReleaseSummary]
    current_release_id: str
    def __init__(self, releases: _Optional[_Iterable[_Union[ReleaseSummary, _Mapping]]] = ..., current_release_id: _Optional[str] = ...) -> None: ...

class GetCurrentReleaseRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCurrentReleaseResponse(_message.Message):
    __slots__ = ("release_id",)
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    def __init__(self, release_id: _Optional[str] = ...) -> None: ...

class GetManifestRequest(_message.Message):
    __slots__ = ("release_id",)
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    def __init__(self, release_id: _Optional[str] = ...) -> None: ...

class GetManifestResponse(_message.Message):
    __slots__ = ("release_id", "manifest", "signature")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    manifest: bytes
    signature: bytes
    def __init__(self, release_id: _Optional[str] = ..., manifest: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class FetchBlobRequest(_message.Message):
    __slots__ = ("sha256", "offset")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    offset: int
    def __init__(self, sha256: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class BlobChunk(_message.Message):
    __slots__ = ("offset", "data", "size")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    size: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class GetPriorRequest(_message.Message):
    __slots__ = ("release_id", "layout")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    layout: str
    def __init__(self, release_id: _Optional[str] = ..., layout: _Optional[str] = ...) -> None: ...

class PriorRef(_message.Message):
    __slots__ = ("layout", "sha256", "size", "people")
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    layout: str
    sha256: str
    size: int
    people: int
    def __init__(self, layout: _Optional[str] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., people: _Optional[int] = ...) -> None: ...

class GetPriorResponse(_message.Message):
    __slots__ = ("release_id", "prior")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    PRIOR_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    prior: PriorRef
    def __init__(self, release_id: _Optional[str] = ..., prior: _Optional[_Union[PriorRef, _Mapping]] = ...) -> None: ...

class BlobUpload(_message.Message):
    __slots__ = ("sha256", "size", "data")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    data: bytes
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class UploadBlobResponse(_message.Message):
    __slots__ = ("sha256", "stored")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    stored: bool
    def __init__(self, sha256: _Optional[str] = ..., stored: _Optional[bool] = ...) -> None: ...

class PublishReleaseRequest(_message.Message):
    __slots__ = ("manifest", "signature")
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    manifest: bytes
    signature: bytes
    def __init__(self, manifest: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PublishReleaseResponse(_message.Message):
    __slots__ = ("release_id", "published", "missing_sha256", "current")
    RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    MISSING_SHA256_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    release_id: str
    published: bool
    missing_sha256: _containers.RepeatedScalarFieldContainer[str]
    current: bool
    def __init__(self, release_id: _Optional[str] = ..., published: _Optional[bool] = ..., missing_sha256: _Optional[_Iterable[str]] = ..., current: _Optional[bool] = ...) -> None: ...

class PublishPriorRequest(_message.Message):
    __slots__ = ("base_release_id", "manifest", "signature", "prior")
    BASE_RELEASE_ID_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PRIOR_FIELD_NUMBER: _ClassVar[int]
    base_release_id: str
    manifest: bytes
    signature: bytes
    prior: bytes
    def __init__(self, base_release_id: _Optional[str] = ..., manifest: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., prior: _Optional[bytes] = ...) -> None: ...
