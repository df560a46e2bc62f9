"""The Lambda Runtime API (``/2018-06-01/runtime/...``): routes and the bytes of each answer. Pure.

:mod:`kumo.runtime.runtime_server` does the I/O. Answers are pre-built or assembled from byte
strings: a warm invocation formats one header block (``/next``) and sends one constant (``202``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from enum import Enum

from kumo.runtime.invocation import Invocation

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"

_INVOCATION = PREFIX + "/invocation/"
_NEXT = PREFIX + "/invocation/next"
_INIT_ERROR = PREFIX + "/init/error"


class Route(Enum):
    NEXT = "next"
    RESPONSE = "response"
    ERROR = "error"
    INIT_ERROR = "init_error"
    NOT_FOUND = "not_found"


def route(method: bytes, path: str) -> tuple[Route, str]:
    """``(route, request id)`` of a request line; the request id is ``""`` where there is none."""
    path = path.partition("?")[0]
    if method == b"GET":
        return (Route.NEXT, "") if path == _NEXT else (Route.NOT_FOUND, "")
    if method != b"POST":
        return Route.NOT_FOUND, ""
    if path.startswith(_INVOCATION):
        request_id, _, action = path[len(_INVOCATION) :].partition("/")
        if request_id and action == "response":
            return Route.RESPONSE, request_id
        if request_id and action == "error":
            return Route.ERROR, request_id
    elif path == _INIT_ERROR:
        return Route.INIT_ERROR, ""
    return Route.NOT_FOUND, ""


def trace_id(invocation: Invocation) -> str:
    """The X-Ray trace header Lambda always sets (generated when the caller gave none)."""
    if invocation.trace_id:
        return invocation.trace_id
    rand = os.urandom(20).hex()
    return f"Root=1-{int(time.time()):08x}-{rand[:24]};Parent={rand[24:]};Sampled=0"


def decode_client_context(value: str | None) -> str | None:
    """``X-Amz-Client-Context`` is base64; the runtime gets the decoded JSON text."""
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def _header_value(value: str) -> str:
    """A header value that cannot break the message (CR/LF become spaces; JSON stays valid)."""
    return value.replace("\r", " ").replace("\n", " ") if "\r" in value or "\n" in value else value


def next_response(invocation: Invocation, deadline_ms: int) -> bytes:
    """The whole ``200`` answer to ``GET /next``: Lambda's headers and the event (one format)."""
    body = invocation.payload or b"{}"
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Lambda-Runtime-Aws-Request-Id: {_header_value(invocation.request_id)}\r\n"
        f"Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n"
        f"Lambda-Runtime-Invoked-Function-Arn: {_header_value(invocation.invoked_function_arn)}\r\n"
        f"Lambda-Runtime-Trace-Id: {_header_value(trace_id(invocation))}\r\n"
    )
    client_context = decode_client_context(invocation.client_context)
    if client_context is not None:
        head += f"Lambda-Runtime-Client-Context: {_header_value(client_context)}\r\n"
    return (head + "\r\n").encode() + body


_REASONS = {
    200: b"OK",
    202: b"Accepted",
    400: b"Bad Request",
    404: b"Not Found",
    413: b"Request Entity Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


def json_response(status: int, body: bytes, *, close: bool = False) -> bytes:
    """A complete ``application/json`` answer."""
    return b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        status,
        _REASONS.get(status, b"Unknown"),
        len(body),
        b"Connection: close\r\n" if close else b"",
        body,
    )


def error_response(status: int, error_type: str, message: str, *, close: bool = False) -> bytes:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return json_response(status, body, close=close)


#: ``202 {"status":"OK"}``, the answer to every accepted ``/response`` and ``/error``.
ACCEPTED = json_response(202, b'{"status":"OK"}')
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
SHUTTING_DOWN = error_response(503, "ServiceUnavailable", "The instance is shutting down", close=True)
