"""A plain HTTP response value, and API Gateway's canned ``{"message": ...}`` gateway responses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    #: Header pairs in order; a name may repeat (``set-cookie``). Lower-case names.
    headers: list[tuple[str, str]] = field(default_factory=list)


def message_response(status: int, message: str) -> HttpResponse:
    """API Gateway's own error shape: ``{"message": "..."}`` as ``application/json``."""
    return HttpResponse(status, json.dumps({"message": message}).encode(), [("content-type", "application/json")])


def not_found() -> HttpResponse:
    return message_response(404, "Not Found")


def internal_server_error() -> HttpResponse:
    """What API Gateway answers when the function failed (``X-Amz-Function-Error``) or is missing."""
    return message_response(500, "Internal Server Error")


def bad_gateway() -> HttpResponse:
    """What API Gateway answers for a malformed Lambda proxy response."""
    return message_response(502, "Internal server error")


def too_many_requests() -> HttpResponse:
    return message_response(429, "Too Many Requests")


def service_unavailable() -> HttpResponse:
    return message_response(503, "Service Unavailable")


def request_too_large() -> HttpResponse:
    return message_response(413, "Request Entity Too Large")


def accepted(request_id: str) -> HttpResponse:
    """An ``async: true`` route's answer: the event is queued; ``requestId`` is the invocation's request id."""
    return HttpResponse(202, json.dumps({"requestId": request_id}).encode(), [("content-type", "application/json")])
