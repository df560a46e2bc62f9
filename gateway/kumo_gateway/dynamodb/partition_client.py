"""The router's client for partition servers: pooled keep-alive HTTP/1.1 (:mod:`.http_pool`)."""

from __future__ import annotations

from typing import Any

from kumo_gateway.dynamodb.http_pool import ConnectionFailed, HttpPool
from kumo_gateway.dynamodb.protocol import dumps


class PartitionUnavailable(Exception):
    """The partition could not be reached or did not answer."""


class PartitionClient:
    """Send requests to partition servers over a shared pool of keep-alive connections."""

    def __init__(self, *, connections_per_partition: int = 64, timeout_s: float = 30.0) -> None:
        self._pool = HttpPool(per_endpoint=connections_per_partition, timeout_s=timeout_s)

    async def request(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
        """``(status, body)``; raises :class:`PartitionUnavailable` when the partition cannot answer."""
        try:
            return await self._pool.request(method, url, body)
        except (ConnectionFailed, OSError) as exc:
            raise PartitionUnavailable(f"{method} {url}: {exc}") from None

    async def op(self, endpoint: str, operation: str, body: bytes | dict[str, Any]) -> tuple[int, bytes]:
        """``POST /op/<operation>`` on one partition."""
        data = body if isinstance(body, bytes) else dumps(body)
        return await self.request("POST", f"{endpoint}/op/{operation}", data)

    async def close(self) -> None:
        await self._pool.close()
