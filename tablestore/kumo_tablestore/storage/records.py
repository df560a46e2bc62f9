"""Plain records the storage engine takes and returns: write operations, change-log entries and the
stored form of an item (header + compact JSON)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Literal

from kumo_tablestore import wire_json
from kumo_tablestore.values import item_size

EventName = Literal["INSERT", "MODIFY", "REMOVE"]
Item = dict[str, Any]

#: ``userIdentity`` DynamoDB Streams puts on records of items deleted by TTL.
TTL_USER_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}

_TS = struct.Struct(">d")

#: Stored item value: 8-byte big-endian expiry (0 = never), then the compact JSON. Version 2 sets the
#: expiry's top bit (an expiry never uses it) and puts the item's DynamoDB size as 4 bytes between
#: the two, so reads can charge capacity and splice the JSON into answers without decoding it.
#: Values without the bit (written before version 2) are still read; their size is ``None``.
HEAD_BYTES = 8
_SIZED = 1 << 63
_SIZE_BYTES = 4


def encode_stored(item_json: bytes, expires_at: int | None, size: int | None) -> bytes:
    """The stored value of one item; ``size`` ``None`` writes the unsized (version 1) form."""
    exp = expires_at or 0
    if size is None:
        return exp.to_bytes(HEAD_BYTES, "big") + item_json
    return (exp | _SIZED).to_bytes(HEAD_BYTES, "big") + size.to_bytes(_SIZE_BYTES, "big") + item_json


def stored_expiry(value: bytes | memoryview) -> int:
    """Expiry of a stored value (0: never)."""
    return int.from_bytes(value[:HEAD_BYTES], "big") & ~_SIZED


def stored_item(value: bytes | memoryview) -> tuple[bytes, int | None]:
    """``(item JSON, size or None)`` of a stored value."""
    _, item_json, size = split_stored(value)
    return item_json, size


def split_stored(value: bytes | memoryview) -> tuple[int, bytes, int | None]:
    """``(expiry or 0, item JSON, size or None)`` of a stored value, in one pass (range reads)."""
    head = int.from_bytes(value[:HEAD_BYTES], "big")
    if head & _SIZED:
        size = int.from_bytes(value[HEAD_BYTES : HEAD_BYTES + _SIZE_BYTES], "big")
        return head & ~_SIZED, bytes(value[HEAD_BYTES + _SIZE_BYTES :]), size
    return head, bytes(value[HEAD_BYTES:]), None


def stored_json(value: bytes | memoryview) -> bytes | memoryview:
    """The item JSON of a stored value (no copy when ``value`` is a memoryview)."""
    return value[HEAD_BYTES + _SIZE_BYTES :] if value[0] & 0x80 else value[HEAD_BYTES:]


def dump_item(item: Item) -> bytes:
    """Compact JSON of a wire-form item (the stored codec)."""
    return wire_json.dumps(item)


def load_item(data: bytes | memoryview) -> Item:
    return wire_json.loads(data)


@dataclass(frozen=True)
class WriteOp:
    """Put (``item`` = compact JSON bytes) or delete (``item is None``) of one table key."""

    key: bytes
    item: bytes | None
    #: TTL expiry, epoch seconds (``None``: never); reads hide the item from this second on.
    expires_at: int | None = None
    #: The item's DynamoDB size (:func:`values.item_size`), stored with it; ``None``: not stored.
    size: int | None = None

    @classmethod
    def put(cls, key: bytes, item: Item | bytes, expires_at: int | None = None, size: int | None = None) -> WriteOp:
        """A put; for an item given as a dict the size is computed when not given."""
        if isinstance(item, bytes):
            return cls(key, item, expires_at, size)
        return cls(key, dump_item(item), expires_at, item_size(item) if size is None else size)

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
        body = {  # the fields in declaration order, without asdict's deep copy of the images
            "event_name": self.event_name,
            "keys": self.keys,
            "new_image": self.new_image,
            "old_image": self.old_image,
            "timestamp": self.timestamp,
            "ttl_delete": self.ttl_delete,
            "seq": self.seq,
        }
        return _TS.pack(self.timestamp or 0.0) + wire_json.dumps(body)

    @classmethod
    def decode(cls, data: bytes | memoryview) -> ChangeRecord:
        return cls(**wire_json.loads(data[_TS.size :]))

    @staticmethod
    def stored_timestamp(data: bytes | memoryview) -> float:
        return _TS.unpack(bytes(data[: _TS.size]))[0]
