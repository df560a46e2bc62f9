"""Time to live: when an item expires (pure) and the sweeper that deletes expired items.

DynamoDB rules: the TTL attribute must be a Number holding epoch seconds; any other type, or a
value more than five years in the past, means "never expires". Kumo's reads hide an item from its
expiry second on; the sweeper then deletes it and logs a REMOVE record flagged as a TTL deletion.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kumo_tablestore.storage import StorageEngine

log = logging.getLogger(__name__)

#: DynamoDB ignores TTL values more than five years in the past.
FIVE_YEARS = 5 * 365 * 24 * 3600
#: Default seconds between sweeps (DynamoDB deletes within days; Kumo aims for seconds).
DEFAULT_INTERVAL = 1.0


def expiry_of(item: dict[str, Any], ttl_attribute: str | None, now: float) -> int | None:
    """Epoch second from which ``item`` is expired, or ``None`` if TTL does not apply to it."""
    if not ttl_attribute:
        return None
    value = item.get(ttl_attribute)
    if not isinstance(value, dict) or not isinstance(value.get("N"), str):
        return None
    try:
        seconds = Decimal(value["N"])
    except InvalidOperation:
        return None
    if not seconds.is_finite() or seconds < 0 or seconds < Decimal(now) - FIVE_YEARS:
        return None
    # An item whose TTL is t is expired once the clock passes t; stored at whole-second granularity.
    return min(int(seconds.to_integral_value(rounding="ROUND_FLOOR")) + 1, 2**63 - 1)


def is_expired(expires_at: int | None, now: float) -> bool:
    """True when an item stored with ``expires_at`` must be hidden at time ``now``."""
    return bool(expires_at) and now >= expires_at  # type: ignore[operator]


def sweep_once(
    engine: StorageEngine,
    key_schema: Callable[[bytes], dict[str, Any]],
    now: float | None = None,
    limit: int = 500,
) -> int:
    """Delete up to ``limit`` expired items, logging TTL REMOVE records; returns how many."""
    from kumo_tablestore.storage import ChangeRecord, WriteOp

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
