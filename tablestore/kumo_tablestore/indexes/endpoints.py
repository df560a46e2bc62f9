"""The partition server's index paths (``/index/...``, see :mod:`kumo_tablestore.protocol`).

- ``POST /index/feed`` ``{"wait": s, "limit": n}``: this partition's next GSI operations (long poll:
  answers at once when some are pending, else after ``wait`` seconds at most).
- ``POST /index/apply`` ``{"source": i, "indexes": {name: {"upto", "ops"}}}``: apply a base
  partition's operations to the entries this partition owns; answers ``{"applied": [names]}``.
- ``POST /index/ack`` ``{"indexes": {name: {"upto", "scan"}}}``: the feed's targets applied it.
- ``GET /index/status``: per index ``{"backfilling", "items", "bytes"}`` of this partition.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kumo_tablestore import wire_json
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.indexes import feed as index_feed
from kumo_tablestore.protocol import INDEX_PREFIX

_POLL_S = 0.005
MAX_WAIT_S = 5.0


async def handle(part: Any, method: str, path: str, raw: bytes) -> Any:
    """The answer body (a dict) for an index path."""
    name = path[len(INDEX_PREFIX) :]
    body = wire_json.loads(raw) if raw else {}
    if not isinstance(body, dict):
        raise ValidationException("The body must be a JSON object")
    part.require_meta()
    if method == "POST" and name == "feed":
        return await _feed(part, body)
    if method == "POST" and name == "apply":
        source = body.get("source")
        feeds = body.get("indexes") or {}
        if not isinstance(source, int) or not isinstance(feeds, dict):
            raise ValidationException("apply needs a source partition and indexes")
        decoded = {
            n: {"upto": int(f.get("upto", 0)), "ops": [(s, index_feed.unb64(k), v) for s, k, v in f.get("ops", ())]}
            for n, f in feeds.items()
        }
        applied = await part.writer.exclusive(lambda: part.indexes.apply_gsi(source, decoded))
        return {"applied": applied}
    if method == "POST" and name == "ack":
        acks = body.get("indexes") or {}
        await part.writer.exclusive(lambda: index_feed.acknowledge(part, acks))
        return {}
    if method == "GET" and name == "status":
        return await asyncio.to_thread(_status, part)
    raise ValidationException(f"No such index path: {method} {path}")


async def _feed(part: Any, body: dict[str, Any]) -> dict[str, Any]:
    wait = min(float(body.get("wait", 0) or 0), MAX_WAIT_S)
    limit = max(1, min(int(body.get("limit", 500) or 500), 5000))
    deadline = time.monotonic() + wait
    while not index_feed.pending(part) and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S)
    return {"indexes": await asyncio.to_thread(index_feed.feed, part, limit)}


def _status(part: Any) -> dict[str, Any]:
    out = {}
    for name in part.indexes.definitions():
        items, size = part.indexes.stats(name)
        out[name] = {"backfilling": index_feed.backfilling(part, name), "items": items, "bytes": size}
    return {"indexes": out}
