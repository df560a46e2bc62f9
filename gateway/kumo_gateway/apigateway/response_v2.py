"""Map a function's result to the HTTP response, payload format 2.0 rules (pure: no I/O).

- function error -> 500 ``{"message":"Internal Server Error"}``;
- a JSON object with ``statusCode``: ``statusCode``, ``headers``, ``cookies`` (each a ``set-cookie``),
  ``body`` (a string; base64-decoded when ``isBase64Encoded``);
- any other valid JSON (no ``statusCode``): 200, ``application/json``, the result itself as the body;
- anything malformed -> 502 ``{"message":"Internal server error"}``.
"""

from __future__ import annotations

import base64
import binascii

from kumo import untrusted_json
from kumo_gateway.apigateway.gateway_responses import HttpResponse, bad_gateway, internal_server_error

# Set by the server from the body; a function cannot choose them.
_DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_DEFAULT_CONTENT_TYPE = "text/plain; charset=utf-8"


class MalformedResponse(ValueError):
    """The function's result is not a valid proxy response."""


def header_value(value: object) -> str:
    """A proxy response's header value as text (strings, booleans, numbers); else malformed."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise MalformedResponse(f"header value {value!r} is not a string")


def _structured(result: dict[str, object]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponse("headers is not an object")
    for name, value in raw_headers.items():
        key = name.lower()
        if key not in _DROPPED_HEADERS:
            headers.append((key, header_value(value)))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResponse("cookies is not a list of strings")
    headers.extend(("set-cookie", cookie) for cookie in cookies)
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    elif result.get("isBase64Encoded") is True:
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponse(f"body is not valid base64: {exc}") from None
    else:
        data = body.encode("utf-8")
    if data and not any(key == "content-type" for key, _ in headers):
        headers.append(("content-type", _DEFAULT_CONTENT_TYPE))
    return HttpResponse(status, data, headers)


def parse_result(payload: bytes) -> HttpResponse:
    """Interpret a successful function result; raise :class:`MalformedResponse` when it is not valid."""
    try:
        result = untrusted_json.loads(payload) if payload else None
    except ValueError as exc:
        raise MalformedResponse(f"result is not JSON: {exc}") from None
    if isinstance(result, dict) and "statusCode" in result:
        return _structured(result)
    if result is None and not payload:
        raise MalformedResponse("empty result")
    return HttpResponse(200, payload, [("content-type", "application/json")])


def map_result(payload: bytes, function_error: str | None) -> HttpResponse:
    """The HTTP response API Gateway would send for this function result."""
    if function_error:
        return internal_server_error()
    try:
        return parse_result(payload)
    except MalformedResponse:
        return bad_gateway()
