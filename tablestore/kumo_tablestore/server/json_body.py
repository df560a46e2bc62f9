"""Answer bodies as compact JSON bytes, with stored item JSON spliced in as is (pure).

Items are stored as compact JSON (:func:`kumo_tablestore.storage.dump_item`), which is exactly what
:func:`encode` makes of the decoded item, so a read that returns whole items can put the stored
bytes into its answer instead of decoding and re-encoding them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kumo_tablestore.wire_json import dumps


def encode(body: Any) -> bytes:
    """Compact JSON of ``body`` (non-ASCII as UTF-8, like the stored codec)."""
    return dumps(body)


def splice(field: str, raw: bytes, rest: dict[str, Any]) -> bytes:
    """``{field: <raw JSON>, **rest}``: ``raw`` goes in unchanged, first."""
    head = b'{"' + field.encode() + b'":' + raw
    if not rest:
        return head + b"}"
    return head + b"," + encode(rest)[1:]


def json_array(raws: Sequence[bytes]) -> bytes:
    """A JSON array of already-encoded elements."""
    return b"[" + b",".join(raws) + b"]"
