"""Range reads over the ``items`` sub-database: the bounds of a Query and one chunk of rows in key
order (short keys in ``items``, long ones through :mod:`.long_keys`). Used by :class:`.engine.StorageEngine`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import lmdb

from kumo_tablestore.keys import prefix_successor
from kumo_tablestore.storage.long_keys import SHORT_MAX, LongKeys
from kumo_tablestore.storage.records import split_stored

Bounds = tuple[bytes, bool, bytes | None, bool]
#: ``(lo, lo_incl, hi, hi_incl, forward, resume, n) -> rows``: one chunk, read in its own transaction.
ChunkReader = Callable[[bytes | None, bool, bytes | None, bool, bool, bytes | None, int], list[tuple[bytes, bytes]]]
_CHUNK = (16, 256)  # first chunk small (Limit=1 queries), then larger


def query_bounds(
    pk_prefix: bytes,
    lower: bytes | None,
    lower_inclusive: bool,
    upper: bytes | None,
    upper_inclusive: bool,
    forward: bool,
    exclusive_start: bytes | None,
) -> Bounds:
    """``(lo, lo_inclusive, hi, hi_inclusive)`` of the table keys a Query of one partition-key value reads."""
    lo = pk_prefix + lower if lower is not None else pk_prefix
    lo_incl = lower_inclusive if lower is not None else True
    if upper is not None:
        hi: bytes | None = pk_prefix + upper
        hi_incl = upper_inclusive
    else:
        hi, hi_incl = prefix_successor(pk_prefix), False
    if exclusive_start is not None:
        if forward and exclusive_start >= lo:
            lo, lo_incl = exclusive_start, False
        elif not forward and (hi is None or exclusive_start <= hi):
            hi, hi_incl = exclusive_start, False
    return lo, lo_incl, hi, hi_incl


def read_chunk(
    txn: lmdb.Transaction,
    long: LongKeys,
    lo: bytes | None,
    lo_incl: bool,
    hi: bytes | None,
    hi_incl: bool,
    forward: bool,
    resume: bytes | None,
    n: int,
) -> list[tuple[bytes, bytes]]:
    """Up to ``n`` ``(key, stored value)`` rows within the bounds, after ``resume`` if given."""
    if resume is not None:
        start, incl = resume, False
    else:
        start, incl = (lo, lo_incl) if forward else (hi, hi_incl)
    rows: list[tuple[bytes, bytes]] = []
    head, entries = long.position(txn, start, incl, forward)
    stack = [entries, head]  # the top is read first; only ``entries`` holds group entries
    while stack:
        source = stack[-1]
        for key, value in source:
            if len(key) > SHORT_MAX and source is entries:
                stack.append(long.group(txn, key, value, forward))
                break
            if forward:
                if hi is not None and (key > hi or (key == hi and not hi_incl)):
                    return rows
            elif lo is not None and (key < lo or (key == lo and not lo_incl)):
                return rows
            rows.append((key, value))
            if len(rows) >= n:
                return rows
        else:
            stack.pop()
    return rows


def live_rows(
    chunk_reader: ChunkReader,
    lo: bytes | None,
    lo_incl: bool,
    hi: bytes | None,
    hi_incl: bool,
    forward: bool,
    now: float,
    sized: bool,
) -> Iterator[Any]:
    """Unexpired rows in order, chunk by chunk (a transaction per chunk: an abandoned iterator pins nothing).
    Yields ``(table_key, item_json)``, or ``(table_key, item_json, stored size or None)`` if ``sized``."""
    resume: bytes | None = None  # last key yielded: the next chunk starts after it
    chunk = _CHUNK[0]
    while True:
        rows = chunk_reader(lo, lo_incl, hi, hi_incl, forward, resume, chunk)
        for key, value in rows:
            expires, item_json, size = split_stored(value)
            if not expires or now < expires:  # ttl.is_expired, inlined: this loop runs per item read
                yield (key, item_json, size) if sized else (key, item_json)
        if len(rows) < chunk:
            return
        resume = rows[-1][0]
        chunk = _CHUNK[1]
