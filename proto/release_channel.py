"""Calling the release service: channels, deadlines, retries, and gRPC errors as one line.

Shared by the device's client (`tastevec-client pull --server`) and the operator's writer
(`tastevec-server publish --server`). A call is retried, with exponential backoff, only when
the server is UNAVAILABLE (down, restarting, unreachable); every other status is final and
becomes a ReleaseError that says what failed, where, and the server's one-line reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc

from tastevec.common.errors import KeyFileError, ReleaseError
from tastevec.common.os_inputs import read_regular_file

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_MESSAGE_BYTES = 8 * 2**20
CA_LIMIT = 1 * 2**20


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    first_backoff: float = 0.2  # seconds, doubled after each UNAVAILABLE
    max_backoff: float = 5.0
    deadline: float = 30.0  # seconds for one unary call

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.first_backoff * 2**attempt))


def open_channel(target: str, *, tls_ca: Path | None = None) -> grpc.Channel:
    """A channel to `target` (HOST:PORT): TLS checked against the CA file `tls_ca`, else
    plaintext (loopback and trusted networks: releases are signed either way)."""
    if not target or ":" not in target:
        raise ReleaseError(f"server {target!r} is not HOST:PORT")
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.enable_retries", 0),  # retried here, on UNAVAILABLE only
        # reconnect soon after a server restarts (gRPC's own default waits 1 s, then more)
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 2000),
    ]
    if tls_ca is None:
        return grpc.insecure_channel(target, options=options)
    ca = read_regular_file(tls_ca, limit=CA_LIMIT, what="TLS CA file", error=KeyFileError)
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(ca), options=options)


def call(what: str, target: str, attempt: Callable[[], T], policy: RetryPolicy) -> T:
    """`attempt()`, retried with backoff while the server is UNAVAILABLE; any other failure,
    or running out of attempts, is a one-line ReleaseError."""
    for number in range(policy.attempts):
        try:
            return attempt()
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or number == policy.attempts - 1:
                raise rpc_error(what, target, exc) from None
            pause = policy.backoff(number)
            logger.info("%s: %s unavailable, retrying in %.1f s", what, target, pause)
            time.sleep(pause)
    raise ReleaseError(f"{what}: no attempt made")  # attempts < 1


def rpc_error(what: str, target: str, exc: grpc.RpcError) -> ReleaseError:
    code = exc.code()
    name = code.name if code is not None else "UNKNOWN"
    detail = " ".join(str(exc.details() or "").split())
    return ReleaseError(f"{what} from {target}: {name}: {detail}")
