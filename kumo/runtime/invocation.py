"""The shapes that cross the boundary between the gateway, a provider and a function instance.

These are plain data: no I/O. The gateway builds an :class:`Invocation`, a provider hands it to an
instance (in-process in local mode, over HTTP in a cluster) and gets an :class:`InvocationResult` back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

#: Lambda's maximum synchronous request and response payload (6 MB).
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
#: ``X-Amz-Log-Result`` carries at most the last 4 KB of an invocation's log.
LOG_TAIL_BYTES = 4 * 1024


@dataclass(frozen=True)
class Invocation:
    """One request for a function instance to handle."""

    request_id: str
    payload: bytes
    #: Full ARN the caller used, e.g. ``arn:aws:lambda:us-east-1:000000000000:function:hello``.
    invoked_function_arn: str
    #: Base64 client context as passed in ``X-Amz-Client-Context`` (or ``None``).
    client_context: str | None = None
    #: ``X-Amz-Log-Type: Tail`` was asked for.
    log_tail: bool = False
    trace_id: str | None = None


@dataclass
class InvocationResult:
    """What an instance answered. ``function_error`` is ``"Unhandled"`` when the function failed."""

    payload: bytes
    function_error: str | None = None
    #: Raw bytes of the invocation's log (START/END/REPORT lines and handler output), only the
    #: last :data:`LOG_TAIL_BYTES`; empty unless the invocation asked for the tail.
    log_tail: bytes = b""
    executed_version: str = "$LATEST"
    #: True when the instance can take another invocation; False when it died or was killed
    #: (timeout, memory, crash, init error) and must be replaced.
    instance_reusable: bool = True
    #: Duration the handler ran, in milliseconds (for REPORT lines and metrics).
    duration_ms: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)


def error_payload(error_type: str, message: str, stack_trace: list[str] | None = None) -> bytes:
    """A Lambda function-error payload: ``{"errorMessage", "errorType", "stackTrace"}``."""
    body: dict[str, object] = {"errorMessage": message, "errorType": error_type}
    if stack_trace is not None:
        body["stackTrace"] = stack_trace
    return json.dumps(body).encode()
