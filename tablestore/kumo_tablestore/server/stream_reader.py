"""Reading a partition's change log for streams (``POST /stream``) and trimming it to 24 hours.

The change log is appended in the same LMDB transaction as each item write, so every acknowledged
write has its record. A read answers the records after a sequence number, plus the oldest retained
and newest sequence numbers so the reader can tell trimmed data (``TrimmedDataAccessException``)
from an empty page. With ``WaitMs`` the read waits (bounded) for a record to be committed: the
stream pollers' long poll, which keeps write-to-function latency to a few milliseconds without
polling over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kumo_tablestore.errors import ValidationException
from kumo_tablestore.storage import StorageEngine

log = logging.getLogger(__name__)

#: DynamoDB Streams keeps records for 24 hours.
RETENTION_S = 24 * 3600.0
#: Most records one read returns (GetRecords' limit).
MAX_LIMIT = 1000
#: Longest a read may wait for a new record.
MAX_WAIT_MS = 20_000
#: How often a waiting read looks at the newest sequence number (in-process: about 1 % of a core per
#: idle waiting poller; it also sees the TTL sweeper's records, which bypass the group writer).
_WAIT_STEP_S = 0.004
#: Seconds between trims of the change log.
TRIM_INTERVAL_S = 60.0


def _whole(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationException(f"{name} must be a whole number from {low} to {high}")
    return value


def positions(engine: StorageEngine) -> dict[str, Any]:
    """``{"First": oldest retained seq or None, "Last": newest seq ever written (0: none)}``."""
    return {"First": engine.first_change_sequence(), "Last": engine.last_sequence}


async def read(engine_of: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Answer a stream read: ``{"Records": [change record dicts], "First", "Last"}``.

    ``engine_of()`` returns the partition's current engine (DeleteTable replaces it).
    Body: ``After`` (sequence number, default 0), ``Limit`` (1-1000, default 1000), ``WaitMs`` (0-20000).
    """
    after = _whole(body, "After", 0, 0, 2**63 - 1)
    limit = _whole(body, "Limit", MAX_LIMIT, 1, MAX_LIMIT)
    wait_ms = _whole(body, "WaitMs", 0, 0, MAX_WAIT_MS)
    if wait_ms:
        deadline = time.monotonic() + wait_ms / 1000
        while engine_of().last_sequence <= after and time.monotonic() < deadline:
            await asyncio.sleep(_WAIT_STEP_S)
    engine = engine_of()
    records = engine.read_change_log(after, limit) if engine.last_sequence > after else []
    return {
        "Records": [
            {
                "seq": r.seq,
                "event_name": r.event_name,
                "keys": r.keys,
                "new_image": r.new_image,
                "old_image": r.old_image,
                "timestamp": r.timestamp,
                "ttl_delete": r.ttl_delete,
            }
            for r in records
        ],
        **positions(engine),
    }


def trim_once(engine: StorageEngine, now: float | None = None, retention_s: float = RETENTION_S) -> int:
    """Delete change-log records older than the retention (in bounded chunks); returns how many."""
    now = time.time() if now is None else now
    total = 0
    while True:
        n = engine.trim_change_log(now - retention_s, limit=10_000)
        total += n
        if n < 10_000:
            return total


async def run_trimmer(partition: Any, interval_s: float = TRIM_INTERVAL_S, retention_s: float = RETENTION_S) -> None:
    """Trim ``partition``'s change log every ``interval_s`` seconds until cancelled; each trim runs between
    write batches (``GroupWriter.exclusive``), so it never races DeleteTable's wipe."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await partition.writer.exclusive(lambda: trim_once(partition.engine, retention_s=retention_s))
        except Exception:
            log.exception("change-log trim failed")
