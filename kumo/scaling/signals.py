"""Load signals gateways publish for the autoscaler (shared contract between gateway and operator).

Every gateway keeps one Redis hash, ``kumo:gw:<gateway-id>:load``, rewritten about once a second
with ``EXPIRE`` 15 s (a gateway that stops simply ages out). Each field names one function version,
``<namespace>/<function>/<version>``, and holds JSON
``{"inflight": int, "peak": int, "waiting": int, "last_request": epoch_seconds}``:
``inflight`` invocations running now, ``peak`` the most running at once since the last report,
``waiting`` requests queued for an instance, ``last_request`` when the last request arrived.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

KEY_PREFIX = "kumo:gw:"
KEY_SUFFIX = ":load"
#: Seconds a gateway's hash lives without a refresh.
EXPIRE_S = 15


@dataclass(frozen=True)
class Load:
    """One gateway's view of one function version."""

    inflight: int = 0
    peak: int = 0
    waiting: int = 0
    last_request: float | None = None


class SignalError(ValueError):
    """A field or value that does not follow the contract."""


def key_for_gateway(gateway_id: str) -> str:
    """``kumo:gw:<gateway-id>:load``."""
    if not gateway_id or ":" in gateway_id:
        raise SignalError(f"gateway id must be non-empty without ':' (got {gateway_id!r})")
    return f"{KEY_PREFIX}{gateway_id}{KEY_SUFFIX}"


def field_for(namespace: str, function: str, version: str) -> str:
    """``<namespace>/<function>/<version>``."""
    for part in (namespace, function, version):
        if not part or "/" in part:
            raise SignalError(f"namespace, function and version must be non-empty without '/' (got {part!r})")
    return f"{namespace}/{function}/{version}"


def parse_field(field: str) -> tuple[str, str, str]:
    """The inverse of :func:`field_for`."""
    parts = field.split("/")
    if len(parts) != 3 or not all(parts):
        raise SignalError(f"expected <namespace>/<function>/<version>, got {field!r}")
    return parts[0], parts[1], parts[2]


def encode(load: Load) -> str:
    """JSON text of one load."""
    return json.dumps(asdict(load), separators=(",", ":"))


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SignalError(f"{key} must be a non-negative integer, got {value!r}")
    return value


def decode(raw: str | bytes) -> Load:
    """Parse one field's value; raises :class:`SignalError` on anything malformed."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignalError(f"load is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SignalError("load must be a JSON object")
    last = data.get("last_request")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int | float)):
        raise SignalError(f"last_request must be epoch seconds or null, got {last!r}")
    return Load(
        inflight=_count(data, "inflight"),
        peak=_count(data, "peak"),
        waiting=_count(data, "waiting"),
        last_request=None if last is None else float(last),
    )


async def publish(redis: Any, gateway_id: str, snapshot: Mapping[str, Load]) -> None:
    """Replace this gateway's hash with ``snapshot`` (field -> load) and refresh its expiry."""
    key = key_for_gateway(gateway_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if snapshot:
            pipe.hset(key, mapping={field: encode(load) for field, load in snapshot.items()})
            pipe.expire(key, EXPIRE_S)
        await pipe.execute()


async def read_all(redis: Any) -> dict[str, list[Load]]:
    """Every gateway's loads, by field (malformed entries are skipped)."""
    result: dict[str, list[Load]] = {}
    async for key in redis.scan_iter(match=f"{KEY_PREFIX}*{KEY_SUFFIX}", count=100):
        entries = await redis.hgetall(key)
        for raw_field, raw_value in entries.items():
            field = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
            try:
                parse_field(field)
                result.setdefault(field, []).append(decode(raw_value))
            except SignalError:
                continue
    return result
