"""The router's client for partition servers: pipelined keep-alive HTTP/1.1 (:mod:`.http_pool`)."""

from __future__ import annotations

from typing import Any

from kumo_gateway.dynamodb.http_pool import ConnectionFailed, HttpPool
from kumo_gateway.dynamodb.json_protocol import dumps

#: Operations that write: they get their own connections, so reads never wait behind an fsync.
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})
#: A partition's answer to a key outside its slots (the router's slot map is stale).
MISDIRECTED = 421


class PartitionUnavailable(Exception):
    """The partition could not be reached, did not answer, or does not own the key (stale slot map)."""


class PartitionClient:
    """Send requests to partition servers over a shared pool of pipelined keep-alive connections."""

    def __init__(self, *, connections_per_partition: int = 2, timeout_s: float = 30.0) -> None:
        self._pool = HttpPool(connections=connections_per_partition, timeout_s=timeout_s)

    async def request(self, method: str, url: str, body: bytes | None = None, *, lane: str = "") -> tuple[int, bytes]:
        """``(status, body)``; raises :class:`PartitionUnavailable` when the partition cannot answer."""
        try:
            status, answer = await self._pool.request(method, url, body, lane=lane)
        except (ConnectionFailed, OSError) as exc:
            raise PartitionUnavailable(f"{method} {url}: {exc}") from None
        if status == MISDIRECTED:
            raise PartitionUnavailable(f"{method} {url}: the partition does not own the key ({answer[:200]!r})")
        return status, answer

    async def op(self, endpoint: str, operation: str, body: bytes | dict[str, Any]) -> tuple[int, bytes]:
        """``POST /op/<operation>`` on one partition."""
        data = body if isinstance(body, bytes) else dumps(body)
        lane = "w" if operation in WRITE_OPERATIONS else ""
        return await self.request("POST", f"{endpoint}/op/{operation}", data, lane=lane)

    async def close(self) -> None:
        await self._pool.close()
