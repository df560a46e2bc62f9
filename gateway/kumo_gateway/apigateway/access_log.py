"""One INFO line per Api request on the ``kumo.gateway.access`` logger (uvicorn's access log is off).

``GET /shop/prod/orders -> 200 4.1ms stage=prod canary=true id=<apigw-requestid>``: the path without
its query string (which may carry secrets); ``canary=`` only for a stage with a canary. Silence it
with ``logging.getLogger("kumo.gateway.access").setLevel(logging.WARNING)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("kumo.gateway.access")

CANARY_HEADER = "x-kumo-canary"


@dataclass(slots=True)
class RequestNote:
    """What the endpoint learnt about one request, for its response header and its access-log line."""

    stage: str | None = None
    #: True/False once a stage with a canary picked a side; None otherwise.
    canary: bool | None = None


def canary_header(note: RequestNote) -> tuple[str, str] | None:
    """``X-Kumo-Canary: true|false`` for a request served by a stage with a canary, else None."""
    if note.canary is None:
        return None
    return CANARY_HEADER, "true" if note.canary else "false"


def access_line(method: str, path: str, status: int, elapsed_s: float, note: RequestNote, request_id: str) -> str:
    line = f"{method} {path} -> {status} {elapsed_s * 1000:.1f}ms"
    if note.stage is not None:
        line += f" stage={note.stage}"
    if note.canary is not None:
        line += f" canary={'true' if note.canary else 'false'}"
    return f"{line} id={request_id}"


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def log_request(method: str, path: str, status: int, elapsed_s: float, note: RequestNote, request_id: str) -> None:
    log.info("%s", access_line(method, path, status, elapsed_s, note, request_id))
