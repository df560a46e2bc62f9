"""Reading one shard (a partition's change log) through the partition protocol's ``POST /stream``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kumo_tablestore import protocol, wire_json
from kumo_tablestore.errors import DynamoError
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable


@dataclass(frozen=True)
class Page:
    """Change-log entries after a position, with the shard's oldest retained and newest sequence numbers."""

    records: list[dict[str, Any]]
    first: int | None
    last: int


async def read(
    client: PartitionClient, endpoint: str, after: int, limit: int = 1000, *, wait_ms: int = 0, lane: str = ""
) -> Page:
    """Up to ``limit`` entries after ``after``; with ``wait_ms`` the partition waits that long for one to arrive.
    Raises :class:`PartitionUnavailable` when the partition cannot answer, the partition's DynamoError otherwise."""
    body = wire_json.dumps({"After": after, "Limit": limit, "WaitMs": wait_ms})
    status, raw = await client.request("POST", endpoint + protocol.STREAM_PATH, body, lane=lane)
    try:
        answer = wire_json.loads(raw)
    except ValueError:
        raise PartitionUnavailable(f"{endpoint}: unreadable stream answer ({status})") from None
    if status != 200:
        if isinstance(answer, dict) and isinstance(answer.get("__type"), str):
            raise DynamoError(answer["__type"].rpartition("#")[2], str(answer.get("message", "")), status)
        raise PartitionUnavailable(f"{endpoint}: stream read answered {status}")
    return Page(answer["Records"], answer["First"], answer["Last"])


def trimmed(after: int, page_first: int | None, page_last: int, stream_start: float, now: float) -> bool:
    """Were records after ``after`` that belong to the stream trimmed away (``TrimmedDataAccessException``)?

    Sequence numbers have no gaps, so ``after + 1`` is gone when it is below the oldest retained one
    (or everything was trimmed). Only records older than the retention are trimmed, so nothing of a
    stream enabled within the retention has been.
    """
    from kumo_tablestore.server.stream_reader import RETENTION_S

    if after >= page_last:
        return False
    gone = page_first is None or after + 1 < page_first
    return gone and stream_start < now - RETENTION_S
