"""Shard iterators: opaque, tamper-evident, expiring after 15 minutes as DynamoDB's (pure).

An iterator holds the table, the stream label, the partition (shard), the sequence number it reads
after, and when it was issued; it is base64url JSON with an HMAC keyed by the table's id, so an edited
or foreign iterator is refused (``ValidationException``) rather than read from the wrong place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import NamedTuple

from kumo_tablestore.errors import DynamoError, ValidationException

#: DynamoDB's shard iterators expire 15 minutes after they are returned.
LIFETIME_S = 15 * 60
_PREFIX = "kumo1."
_MAC_BYTES = 16


class ExpiredIterator(DynamoError):
    def __init__(self, issued: float, now: float) -> None:
        super().__init__(
            "ExpiredIteratorException",
            f"Iterator expired. The iterator was created at time {issued:.3f} while right now it is {now:.3f}.",
        )


class Position(NamedTuple):
    table: str
    label: str
    partition: int
    after: int
    issued: float


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode(position: Position, secret: str) -> str:
    payload = json.dumps(list(position), separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(_mac(secret, payload) + payload).decode().rstrip("=")


def _invalid() -> ValidationException:
    return ValidationException("Invalid ShardIterator")


def peek_table(iterator: object) -> str:
    """The table an iterator names (unverified: for routing and authorization before :func:`decode`)."""
    return _unpack(iterator)[1].table


def _unpack(iterator: object) -> tuple[bytes, Position, bytes]:
    if not isinstance(iterator, str) or not iterator.startswith(_PREFIX) or not 1 <= len(iterator) <= 2048:
        raise _invalid()
    text = iterator[len(_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fields = json.loads(raw[_MAC_BYTES:])
        table, label, partition, after, issued = fields
        position = Position(str(table), str(label), int(partition), int(after), float(issued))
    except (ValueError, TypeError):
        raise _invalid() from None
    return raw[:_MAC_BYTES], position, raw[_MAC_BYTES:]


def decode(iterator: object, secret: str, now: float) -> Position:
    """The position an iterator holds; ``ValidationException`` when it is not one of this table's,
    ``ExpiredIteratorException`` when older than 15 minutes."""
    mac, position, payload = _unpack(iterator)
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise _invalid()
    if now - position.issued > LIFETIME_S:
        raise ExpiredIterator(position.issued, now)
    return position
