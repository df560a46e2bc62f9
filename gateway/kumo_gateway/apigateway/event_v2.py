"""Build the HTTP API Lambda proxy event, payload format 2.0 (pure: no I/O).

Field by field as in API Gateway's developer guide, "Working with AWS Lambda proxy integrations for
HTTP APIs". Payload format 1.0 (``event_v1.py``) takes the same inputs.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from kumo_gateway.apigateway.binary_media import encode_listed

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Content types API Gateway passes through as text; every other body is base64-encoded.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/ecmascript",
        "application/xml",
        "application/graphql",
        "application/x-yaml",
        "application/yaml",
    }
)


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an incoming request an event is built from."""

    method: str
    #: Path as the client would see it on API Gateway: with ``/<stage>`` for a named stage, raw (encoded).
    raw_path: str
    raw_query: str = ""
    #: Header pairs as received (any case; repeats allowed).
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = ""
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class RequestContext:
    """Where the request landed: account, Api, stage, route, ids and arrival time."""

    account_id: str
    api_id: str
    stage: str
    route_key: str
    request_id: str
    time_epoch_s: float
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    #: The Api's ``binaryMediaTypes`` (empty: the default rule of :func:`encode_body`).
    binary_media_types: tuple[str, ...] = ()
    #: ``requestContext.authorizer`` as the route's authorizer produced it for this payload format.
    authorizer: dict[str, object] | None = None


def format_request_time(epoch_s: float) -> str:
    """``12/Mar/2020:19:03:58 +0000`` (CLF, UTC), as in ``requestContext.time``."""
    t = time.gmtime(epoch_s)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def is_text_content_type(content_type: str | None) -> bool:
    """True for bodies passed as text: ``text/*``, JSON, XML, JavaScript and ``+json``/``+xml`` types."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+json") or media.endswith("+xml")


def encode_body(body: bytes, content_type: str | None, binary_media_types: Sequence[str] = ()) -> tuple[str, bool]:
    """``(body, isBase64Encoded)``: text types as UTF-8 text, anything else (or non-UTF-8) as base64.

    A body without a content type is passed as text when it is valid UTF-8. A non-empty
    ``binary_media_types`` replaces this rule (``binary_media.encode_listed``).
    """
    if binary_media_types:
        return encode_listed(body, content_type, binary_media_types)
    if is_text_content_type(content_type) or not content_type:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def collect_headers(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Lower-cased headers with repeats comma-joined, and the cookies split out of ``Cookie``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        previous = headers.get(key)
        headers[key] = value if previous is None else f"{previous},{value}"
    return headers, cookies


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded query parameters; repeated keys comma-joined in order."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        previous = params.get(key)
        params[key] = value if previous is None else f"{previous},{value}"
    return params


def build_event(request: HttpRequest, context: RequestContext) -> dict[str, object]:
    """The payload format 2.0 event for ``request`` routed as described by ``context``."""
    headers, cookies = collect_headers(request.headers)
    host = headers.get("host", "")
    domain = host.rsplit(":", 1)[0] if host and not host.endswith("]") else host
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": context.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": context.account_id,
        "apiId": context.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": context.request_id,
        "routeKey": context.route_key,
        "stage": context.stage,
        "time": format_request_time(context.time_epoch_s),
        "timeEpoch": int(context.time_epoch_s * 1000),
    }
    if context.authorizer is not None:
        event["requestContext"]["authorizer"] = context.authorizer  # type: ignore[index]
    if request.body:
        body, encoded = encode_body(request.body, headers.get("content-type"), context.binary_media_types)
        event["body"] = body
        event["isBase64Encoded"] = encoded
    else:
        event["isBase64Encoded"] = False
    if context.path_parameters:
        event["pathParameters"] = context.path_parameters
    if context.stage_variables:
        event["stageVariables"] = context.stage_variables
    return event
