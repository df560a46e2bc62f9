"""The TTL sweeper: deletes expired items and logs a REMOVE record flagged as a TTL deletion.

Reads already hide an item from its expiry second on (:func:`kumo_tablestore.ttl.is_expired`); the
sweeper runs in a thread of the partition server and removes what has expired, in bounded batches.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kumo_tablestore.storage import ChangeRecord, StorageEngine, WriteOp

log = logging.getLogger(__name__)

#: Default seconds between sweeps (DynamoDB deletes within days; Kumo aims for seconds).
DEFAULT_INTERVAL = 1.0


def sweep_once(
    engine: StorageEngine,
    key_schema: Callable[[bytes], dict[str, Any]],
    now: float | None = None,
    limit: int = 500,
) -> int:
    """Delete up to ``limit`` expired items, logging TTL REMOVE records; returns how many."""
    now = time.time() if now is None else now
    keys = engine.expired_keys(now, limit)
    if not keys:
        return 0

    def remove(current: dict[bytes, dict[str, Any] | None]) -> tuple[list[WriteOp], list[ChangeRecord]]:
        ops, changes = [], []
        for key, item in current.items():
            if item is None:
                continue
            ops.append(WriteOp.delete(key))
            changes.append(ChangeRecord("REMOVE", key_schema(key), old_image=item, timestamp=now, ttl_delete=True))
        return ops, changes

    # Read with include_expired so the REMOVE record carries the old image.
    seqs = engine.transact(keys, remove, include_expired=True, now=now)
    return len(seqs)


def run_sweeper(
    engine: StorageEngine,
    key_schema: Callable[[bytes], dict[str, Any]],
    stop: threading.Event,
    interval: float = DEFAULT_INTERVAL,
    clock: Callable[[], float] = time.time,
    batch: int = 500,
) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (run it in a thread)."""
    while not stop.is_set():
        try:
            # Drain in bounded batches, but give the writer a turn between sweeps.
            for _ in range(100):
                if sweep_once(engine, key_schema, clock(), batch) < batch:
                    break
        except Exception:
            log.exception("TTL sweep failed")
        stop.wait(interval)
