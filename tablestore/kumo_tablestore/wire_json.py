"""The JSON codec of the DynamoDB wire protocol and of stored items: ``orjson``.

One codec for the router, the partition servers and the stored item form, so that what the
engine stores is byte for byte what an answer carries (see :mod:`kumo_tablestore.server.json_body`).
orjson is strict where the protocol needs it (invalid UTF-8, unpaired surrogate escapes, NaN and
infinities are refused) and several times faster than the standard library, which matters because
every request is parsed twice (router and partition) and every item read or written is encoded.
"""

from __future__ import annotations

from typing import Any

import orjson

#: Raised by :func:`loads` for anything but well-formed JSON text (a ``ValueError``).
JSONDecodeError = orjson.JSONDecodeError


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """The value of JSON ``data``; raises :class:`JSONDecodeError` (also for unpaired surrogates)."""
    return orjson.loads(data)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, non-ASCII as UTF-8 (what DynamoDB sends, and the stored item form)."""
    return orjson.dumps(value)
