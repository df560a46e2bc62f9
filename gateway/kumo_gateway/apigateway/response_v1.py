"""Map a function's result to the HTTP response, payload format 1.0 rules (pure: no I/O).

- function error -> 500 ``{"message":"Internal Server Error"}`` (as for 2.0: an HTTP API's answer);
- a JSON object with ``statusCode`` (an integer, or a string of digits, 100-599): ``headers`` (name ->
  value) and ``multiValueHeaders`` (name -> list of values) merged as API Gateway does - every value
  of ``multiValueHeaders``, plus each ``headers`` value not already listed for that name (so several
  ``Set-Cookie`` go in ``multiValueHeaders``); ``body`` (a string; base64-decoded when
  ``isBase64Encoded`` is true); without a ``content-type`` a non-empty body is ``application/json``;
- anything else - not JSON, not an object, no ``statusCode``, wrong types, bad base64 -> 502
  ``{"message":"Internal server error"}``: unlike 2.0 there is no "bare JSON value means 200".
"""

from __future__ import annotations

import base64
import binascii

from kumo import untrusted_json
from kumo_gateway.apigateway.gateway_responses import HttpResponse, bad_gateway, internal_server_error
from kumo_gateway.apigateway.response_v2 import MalformedResponse, header_value

# Set by the server from the body; a function cannot choose them.
_DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_DEFAULT_CONTENT_TYPE = "application/json"


def _status(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise MalformedResponse(f"statusCode {value!r} is not an HTTP status")
    return value


def merge_headers(headers: object, multi_value_headers: object) -> list[tuple[str, str]]:
    """Header pairs (lower-case names) from ``headers`` and ``multiValueHeaders``, merged."""
    if headers is None:
        headers = {}
    if multi_value_headers is None:
        multi_value_headers = {}
    if not isinstance(headers, dict):
        raise MalformedResponse("headers is not an object")
    if not isinstance(multi_value_headers, dict):
        raise MalformedResponse("multiValueHeaders is not an object")
    merged: dict[str, list[str]] = {}
    for name, values in multi_value_headers.items():
        if values is None:
            continue
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name!r}] is not a list")
        merged.setdefault(name.lower(), []).extend(header_value(value) for value in values)
    for name, value in headers.items():
        if value is None:
            continue
        listed = merged.setdefault(name.lower(), [])
        text = header_value(value)
        if text not in listed:
            listed.append(text)
    return [(name, value) for name, values in merged.items() if name not in _DROPPED_HEADERS for value in values]


def _body(result: dict[str, object]) -> bytes:
    body = result.get("body")
    encoded = result.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise MalformedResponse("isBase64Encoded is not a boolean")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedResponse(f"body is not valid base64: {exc}") from None


def parse_result(payload: bytes) -> HttpResponse:
    """Interpret a successful function result; raise :class:`MalformedResponse` when it is not valid."""
    try:
        result = untrusted_json.loads(payload) if payload else None
    except ValueError as exc:
        raise MalformedResponse(f"result is not JSON: {exc}") from None
    if not isinstance(result, dict):
        raise MalformedResponse("result is not a JSON object")
    if "statusCode" not in result:
        raise MalformedResponse("result has no statusCode")
    status = _status(result["statusCode"])
    headers = merge_headers(result.get("headers"), result.get("multiValueHeaders"))
    data = _body(result)
    if data and not any(key == "content-type" for key, _ in headers):
        headers.append(("content-type", _DEFAULT_CONTENT_TYPE))
    return HttpResponse(status, data, headers)


def map_result(payload: bytes, function_error: str | None) -> HttpResponse:
    """The HTTP response API Gateway would send for this function result."""
    if function_error:
        return internal_server_error()
    try:
        return parse_result(payload)
    except MalformedResponse:
        return bad_gateway()
