"""The one client of the partition protocol (:mod:`kumo_tablestore.protocol`), over pipelined keep-alive
HTTP/1.1 (:mod:`kumo_tablestore.pipelined_http`).

The gateway's DynamoDB router sends operations with :meth:`PartitionClient.op`; the table directories
of both providers (local processes, StatefulSet pods) use the control calls :meth:`~PartitionClient.health`,
:meth:`~PartitionClient.stored_description` and :meth:`~PartitionClient.put_description`.
"""

from __future__ import annotations

from typing import Any

from kumo import platform_credential
from kumo_tablestore import protocol, wire_json
from kumo_tablestore.pipelined_http import ConnectionFailed, HttpPool


class PartitionUnavailable(Exception):
    """The partition could not be reached, did not answer, or does not own the key (stale slot map)."""


class PartitionRefused(Exception):
    """The partition answered a control call with an error (``status``, ``body`` as sent)."""

    def __init__(self, what: str, status: int, body: bytes) -> None:
        super().__init__(f"{what}: {status} {body[:300].decode('utf-8', 'replace')}")
        self.status = status
        self.body = body


class PartitionClient:
    """Send requests to partition servers over a shared pool of pipelined keep-alive connections."""

    def __init__(
        self, *, connections_per_partition: int = 2, timeout_s: float = 30.0, credential: str | None = None
    ) -> None:
        """``credential``: the platform credential sent on every request (default: ``KUMO_PLATFORM_CREDENTIAL``)."""
        credential = credential or platform_credential.from_env()
        headers = {platform_credential.HEADER: credential} if credential else None
        self._pool = HttpPool(connections=connections_per_partition, timeout_s=timeout_s, headers=headers)

    async def request(self, method: str, url: str, body: bytes | None = None, *, lane: str = "") -> tuple[int, bytes]:
        """``(status, body)``; raises :class:`PartitionUnavailable` when the partition cannot answer."""
        try:
            status, answer = await self._pool.request(method, url, body, lane=lane)
        except (ConnectionFailed, OSError) as exc:
            raise PartitionUnavailable(f"{method} {url}: {exc}") from None
        if status == protocol.MISDIRECTED:
            raise PartitionUnavailable(f"{method} {url}: the partition does not own the key ({answer[:200]!r})")
        return status, answer

    async def op(self, endpoint: str, operation: str, body: bytes | dict[str, Any]) -> tuple[int, bytes]:
        """``POST /op/<operation>`` on one partition; writes go on their own lane (never behind reads)."""
        data = body if isinstance(body, bytes) else wire_json.dumps(body)
        lane = "w" if operation in protocol.WRITE_OPERATIONS else ""
        return await self.request("POST", endpoint + protocol.op_path(operation), data, lane=lane)

    # ---- control calls -------------------------------------------------------------------------

    async def health(self, endpoint: str) -> dict[str, Any]:
        """``GET /healthz``: ``{"table", "partition", "items"}``; :class:`PartitionUnavailable` if not serving."""
        status, body = await self.request("GET", endpoint + protocol.HEALTH_PATH)
        if status != 200:
            raise PartitionUnavailable(f"GET {endpoint}{protocol.HEALTH_PATH}: {status}")
        return _json_object(body, endpoint)

    async def stored_description(self, endpoint: str) -> dict[str, Any] | None:
        """``GET /table``: the description the partition holds, ``None`` when it holds none yet."""
        status, body = await self.request("GET", endpoint + protocol.TABLE_PATH)
        if status == 200:
            return _json_object(body, endpoint)
        if status == 404 or (status == 400 and b"ResourceNotFoundException" in body):
            return None
        raise PartitionRefused(f"GET {endpoint}{protocol.TABLE_PATH}", status, body)

    async def put_description(self, endpoint: str, description: dict[str, Any]) -> dict[str, Any]:
        """``PUT /table``: hand the partition its table description; :class:`PartitionRefused` if refused."""
        status, body = await self.request("PUT", endpoint + protocol.TABLE_PATH, wire_json.dumps(description))
        if status != 200:
            raise PartitionRefused(f"PUT {endpoint}{protocol.TABLE_PATH}", status, body)
        return _json_object(body, endpoint)

    async def close(self) -> None:
        await self._pool.close()


def _json_object(body: bytes, endpoint: str) -> dict[str, Any]:
    try:
        value = wire_json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise PartitionUnavailable(f"{endpoint}: the answer is not a JSON object: {body[:200]!r}")
    return value
