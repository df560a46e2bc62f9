"""The TTL sweeper: deletes expired items and logs a REMOVE record flagged as a TTL deletion.

Reads already hide an item from its expiry second on (:func:`kumo_tablestore.ttl.is_expired`); the
sweeper runs in a thread of the partition server and removes what has expired, in bounded batches. It
skips an item a transaction has locked (:func:`kumo_tablestore.ttl.sweepable`): a later pass sweeps it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kumo_tablestore import ttl
from kumo_tablestore.storage import ChangeRecord, Item, StorageEngine, WriteOp

log = logging.getLogger(__name__)

#: Default seconds between sweeps (DynamoDB deletes within days; Kumo aims for seconds).
DEFAULT_INTERVAL = 1.0

#: Whether a key is locked by a transaction (the partition's lock table; the default: no transactions).
Locked = Callable[[bytes], bool]


def _unlocked(key: bytes) -> bool:
    return False


def sweep_once(
    engine: StorageEngine,
    key_schema: Callable[[bytes], dict[str, Any]],
    now: float | None = None,
    limit: int = 500,
    locked: Locked = _unlocked,
) -> int:
    """Delete up to ``limit`` expired, unlocked items, logging TTL REMOVE records; returns how many."""
    now = time.time() if now is None else now
    keys = engine.expired_keys(now, limit)
    if not keys:
        return 0

    def remove(current: dict[bytes, tuple[Item, int | None] | None]) -> tuple[list[WriteOp], list[ChangeRecord]]:
        ops, changes = [], []
        for key, stored in current.items():
            # Checked inside the write transaction: a prepare locks before it reads, so an item locked
            # after this check was read (at a later ``now``) as expired, that is absent, by the transaction.
            if stored is None or not ttl.sweepable(stored[1], now, locked(key)):
                continue
            item = stored[0]
            ops.append(WriteOp.delete(key))
            changes.append(ChangeRecord("REMOVE", key_schema(key), old_image=item, timestamp=now, ttl_delete=True))
        return ops, changes

    # The stored items, expired ones included, so the REMOVE record carries the old image.
    return len(engine.transact_stored(keys, remove))


def run_sweeper(
    engine: StorageEngine,
    key_schema: Callable[[bytes], dict[str, Any]],
    stop: threading.Event,
    interval: float = DEFAULT_INTERVAL,
    clock: Callable[[], float] = time.time,
    batch: int = 500,
    locked: Locked = _unlocked,
) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set (run it in a thread)."""
    while not stop.is_set():
        try:
            # Drain in bounded batches, but give the writer a turn between sweeps.
            for _ in range(100):
                if sweep_once(engine, key_schema, clock(), batch, locked) < batch:
                    break
        except Exception:
            log.exception("TTL sweep failed")
        stop.wait(interval)
