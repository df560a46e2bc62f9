"""A pooled keep-alive HTTP client for partition servers (aiohttp; not yet measured against httpx)."""

from __future__ import annotations

from typing import Any

import aiohttp

from kumo_gateway.dynamodb.protocol import dumps

_JSON = {"Content-Type": "application/json"}


class PartitionUnavailable(Exception):
    """The partition could not be reached or did not answer."""


class PartitionClient:
    """Send requests to partition servers over a shared pool of keep-alive connections."""

    def __init__(self, *, connections_per_partition: int = 64, timeout_s: float = 30.0) -> None:
        self._per_host = connections_per_partition
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=2.0)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self._per_host, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=False, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def request(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
        """``(status, body)``; raises :class:`PartitionUnavailable` when the partition cannot answer."""
        session = self._open()
        try:
            async with session.request(method, url, data=body, headers=_JSON if body is not None else None) as resp:
                return resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise PartitionUnavailable(f"{method} {url}: {exc.__class__.__name__}: {exc}") from None

    async def op(self, endpoint: str, operation: str, body: bytes | dict[str, Any]) -> tuple[int, bytes]:
        """``POST /op/<operation>`` on one partition."""
        data = body if isinstance(body, bytes) else dumps(body)
        return await self.request("POST", f"{endpoint}/op/{operation}", data)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
