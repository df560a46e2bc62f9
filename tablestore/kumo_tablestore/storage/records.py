"""Plain records the storage engine takes and returns: write operations and change-log entries."""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from typing import Any, Literal

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
Item = dict[str, Any]

#: ``userIdentity`` DynamoDB Streams puts on records of items deleted by TTL.
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

_TS = struct.Struct(">d")


def dump_item(item: Item) -> bytes:
    """Compact JSON of a wire-form item (the stored codec)."""
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_item(data: bytes | memoryview) -> Item:
    return json.loads(bytes(data))


@dataclass(frozen=True)
class WriteOp:
    """Put (``item`` = compact JSON bytes) or delete (``item is None``) of one table key."""

    key: bytes
    item: bytes | None
    #: TTL expiry, epoch seconds (``None``: never); reads hide the item from this second on.
    expires_at: int | None = None

    @classmethod
    def put(cls, key: bytes, item: Item | bytes, expires_at: int | None = None) -> WriteOp:
        return cls(key, item if isinstance(item, bytes) else dump_item(item), expires_at)

    @classmethod
    def delete(cls, key: bytes) -> WriteOp:
        return cls(key, None)


@dataclass
class ChangeRecord:
    """One entry of a partition's change log (the source of streams and transactions)."""

    event_name: EventName
    keys: Item
    new_image: Item | None = None
    old_image: Item | None = None
    #: Epoch seconds; the engine fills in the commit time when ``None``.
    timestamp: float | None = None
    #: Deleted by the TTL sweeper (streams add :data:`TTL_USER_IDENTITY`).
    ttl_delete: bool = False
    #: Assigned by the engine at commit: strictly increasing per partition, never reused.
    seq: int | None = None

    @property
    def user_identity(self) -> dict[str, str] | None:
        return dict(TTL_USER_IDENTITY) if self.ttl_delete else None

    def encode(self) -> bytes:
        """Stored form: 8-byte timestamp (so trimming needn't parse JSON) + compact JSON."""
        body = asdict(self)
        return _TS.pack(self.timestamp or 0.0) + json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes | memoryview) -> ChangeRecord:
        return cls(**json.loads(bytes(data[_TS.size :])))

    @staticmethod
    def stored_timestamp(data: bytes | memoryview) -> float:
        return _TS.unpack(bytes(data[: _TS.size]))[0]
