"""The admin API's dead-letter queues (``kumo dlq list|redrive``):

- ``GET  /_kumo/functions/{name}/dlq`` -> ``{"records": [{id, requestId, payload, error, attempts,
  firstAttempt, lastAttempt, condition, ...}]}`` (oldest first).
- ``POST /_kumo/functions/{name}/dlq/redrive`` ``{"id": ID}`` (optional: all when absent) ->
  ``{"redriven": n}``: the events are enqueued again (same request id, fresh age and attempts).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo_gateway.async_.store import AsyncStore


async def handle(
    request: Request, parts: list[str], store: AsyncStore | None, respond: Any, error: Any, known: Any
) -> Response:
    """``parts``: the path split on ``/`` (``["_kumo", "functions", name, "dlq", ("redrive")]``)."""
    if store is None:
        return error(404, "NotFound", "this gateway has no Redis, so no dead-letter queues")
    name = parts[2]
    if not name or len(parts) > 5 or (len(parts) == 5 and parts[4] != "redrive"):
        return error(404, "NotFound", f"no admin operation at {request.url.path}")
    if not known(name):
        return error(404, "NotFound", f"Function {name!r} not found")
    if len(parts) == 4:
        if request.method != "GET":
            return error(405, "MethodNotAllowed", "use GET", {"Allow": "GET"})
        return respond(200, {"records": await store.dlq_list(name)})
    if request.method != "POST":
        return error(405, "MethodNotAllowed", "use POST", {"Allow": "POST"})
    try:
        body = untrusted_json.loads(await request.body() or b"{}")
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        entry_id = body.get("id")
        if entry_id is not None and not isinstance(entry_id, str):
            raise ValueError("'id' must be a string")
    except ValueError as exc:
        return error(400, "BadRequest", str(exc))
    count = await store.dlq_redrive(name, entry_id)
    if entry_id is not None and count == 0:
        return error(404, "NotFound", f"no dead-lettered event {entry_id!r} for {name!r}")
    return respond(200, {"redriven": count})
