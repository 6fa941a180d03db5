"""The release service's error catalogue: each kind of refusal and the gRPC status it maps to.

Handlers raise these (or any other TastevecError, which is the peer's malformed request);
the servicer answers with `status_for(error)` and the error's one-line message. One table,
so a status code means the same thing in every method.
"""

from __future__ import annotations

import grpc

from tastevec.common.errors import ReleaseError, TastevecError


class NotFoundError(ReleaseError):
    """An unknown release, digest or prior."""


class OutOfRangeError(ReleaseError):
    """A blob offset past the blob's end."""


class UnauthenticatedError(ReleaseError):
    """A write without a credential, or with a wrong one."""


class PermissionDeniedError(ReleaseError):
    """A write to a server that takes none over the wire, or a publish its key refuses."""


class ConflictError(ReleaseError):
    """A publish that contradicts what the store holds (a different release under one id)."""


STATUS_CODES: dict[type[TastevecError], grpc.StatusCode] = {
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    OutOfRangeError: grpc.StatusCode.OUT_OF_RANGE,
    UnauthenticatedError: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    ConflictError: grpc.StatusCode.ALREADY_EXISTS,
}


def status_for(error: TastevecError) -> grpc.StatusCode:
    """The status of `error`: its catalogue entry, else INVALID_ARGUMENT (a malformed request,
    a manifest that does not parse, a signature that does not verify)."""
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return grpc.StatusCode.INVALID_ARGUMENT
