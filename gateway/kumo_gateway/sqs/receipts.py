"""Receipt handles (pure): which delivery of which stream entry a receiver holds.

A handle encodes the queue, the stream entry id, the delivery count and a random nonce, so every
delivery of a message has its own handle; deleting needs only the entry id (any handle of it works,
as in SQS, while the message exists).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass

_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_VERSION = "k1"


class InvalidReceipt(ValueError):
    pass


@dataclass(frozen=True)
class Receipt:
    queue: str
    entry_id: str
    delivery: int
    nonce: str


def encode(queue: str, entry_id: str, delivery: int, nonce: str | None = None) -> str:
    text = f"{_VERSION} {queue} {entry_id} {delivery} {nonce or os.urandom(6).hex()}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(handle: str) -> Receipt:
    """The receipt a handle stands for; :class:`InvalidReceipt` when it is not one of ours."""
    if not isinstance(handle, str) or not 0 < len(handle) <= 1024:
        raise InvalidReceipt("The receipt handle is not valid.")
    try:
        text = base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidReceipt("The receipt handle is not valid.") from None
    parts = text.split(" ")
    if len(parts) != 5 or parts[0] != _VERSION or not _ENTRY_ID.match(parts[2]) or not parts[3].isdigit():
        raise InvalidReceipt("The receipt handle is not valid.")
    return Receipt(parts[1], parts[2], int(parts[3]), parts[4])
