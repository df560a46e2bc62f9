"""One JSON line per Api request on the ``kumo.gateway.access`` logger (uvicorn's access log is off).

``{"requestId": ..., "method": "GET", "path": "/shop/prod/orders", "status": 200, "latencyMs": 4.1,
"api": "shop", "stage": "prod", "route": "GET /orders", "version": "2", "canary": true,
"apiKeyId": ..., "authorizer": ...}``: the path without its query string (which may carry secrets);
a field appears only when the request got that far (``canary`` only for a stage with a canary,
``apiKeyId`` only for a request that presented a known key — its id, never the key, ``authorizer``
is ``allow``/``deny``/``error`` for a route with an authorizer). Silence it with
``logging.getLogger("kumo.gateway.access").setLevel(logging.WARNING)``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

log = logging.getLogger("kumo.gateway.access")

CANARY_HEADER = "x-kumo-canary"


@dataclass(slots=True)
class RequestNote:
    """What the endpoint learnt about one request, for its response header, its access-log line and metrics."""

    api: str | None = None
    stage: str | None = None
    #: The matched route's key (``GET /orders/{id}``).
    route: str | None = None
    #: True/False once a stage with a canary picked a side; None otherwise.
    canary: bool | None = None
    #: The function version that ran (a number or ``$LATEST``).
    version: str | None = None
    #: The id of the API key the request presented (never the key itself).
    api_key_id: str | None = None
    #: ``allow``, ``deny`` or ``error`` once a route's authorizer decided.
    authorizer: str | None = None


def canary_header(note: RequestNote) -> tuple[str, str] | None:
    """``X-Kumo-Canary: true|false`` for a request served by a stage with a canary, else None."""
    if note.canary is None:
        return None
    return CANARY_HEADER, "true" if note.canary else "false"


def access_line(method: str, path: str, status: int, elapsed_s: float, note: RequestNote, request_id: str) -> str:
    record: dict[str, object] = {
        "requestId": request_id,
        "method": method,
        "path": path,
        "status": status,
        "latencyMs": round(elapsed_s * 1000, 1),
    }
    for field, value in (
        ("api", note.api),
        ("stage", note.stage),
        ("route", note.route),
        ("version", note.version),
        ("canary", note.canary),
        ("apiKeyId", note.api_key_id),
        ("authorizer", note.authorizer),
    ):
        if value is not None:
            record[field] = value
    return json.dumps(record, separators=(",", ":"))


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def log_request(method: str, path: str, status: int, elapsed_s: float, note: RequestNote, request_id: str) -> None:
    log.info("%s", access_line(method, path, status, elapsed_s, note, request_id))
