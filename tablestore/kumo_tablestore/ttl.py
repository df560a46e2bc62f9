"""Time to live: when an item expires. Pure; the sweeper that deletes expired items is
:mod:`kumo_tablestore.server.ttl_sweeper`.

DynamoDB rules: the TTL attribute must be a Number holding epoch seconds; any other type, or a
value more than five years in the past, means "never expires". Kumo's reads hide an item from its
expiry second on; the sweeper then deletes it and logs a REMOVE record flagged as a TTL deletion.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

#: DynamoDB ignores TTL values more than five years in the past.
FIVE_YEARS = 5 * 365 * 24 * 3600


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


def sweepable(expires_at: int | None, now: float, locked: bool) -> bool:
    """Whether the TTL sweeper deletes an item at ``now``.

    ``expires_at`` is the item's stored expiry read again in the sweeper's own write transaction (a
    write since the expiry index was read may have renewed the item). A ``locked`` item is held by a
    transaction, which computed its changes from it: the sweeper honours the lock as writers do and
    leaves the item to a later pass, after the decision, so a TTL delete never splits a transaction.
    """
    return not locked and is_expired(expires_at, now)
