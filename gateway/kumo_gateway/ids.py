"""Request ids: UUID version 4 text, made cheaply (ids need to be unique, not unpredictable)."""

from __future__ import annotations

import itertools
import random

_random = random.Random()
_VERSION_4 = (0x4 << 76) | (0x2 << 62)
_CLEAR = ~((0xF << 76) | (0x3 << 62))


def new_request_id() -> str:
    """A random ``xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`` id, like Lambda's request ids."""
    value = (_random.getrandbits(128) & _CLEAR) | _VERSION_4
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_PROCESS_PREFIX = f"{random.getrandbits(64):016X}"
_sequence = itertools.count(1)


def new_dynamodb_request_id() -> str:
    """A DynamoDB-style request id: 52 upper-case alphanumerics, like AWS's ``x-amzn-RequestId``.

    A random per-process prefix and a counter: unique, and cheap enough for every data-plane request.
    """
    return f"{_PROCESS_PREFIX}{next(_sequence):036d}"
