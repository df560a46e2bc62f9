"""The storage engine's self-check: every sub-database walked, the expiry index and the change log
cross-checked against the items (``StorageEngine.check_integrity``)."""

from __future__ import annotations

import itertools
from typing import Any

import lmdb

from kumo_tablestore.storage.long_keys import SHORT_MAX, LongKeys
from kumo_tablestore.storage.records import ChangeRecord, load_item, stored_expiry, stored_json

_U64 = 8


def check_integrity(
    txn: lmdb.Transaction, *, items: Any, expiry: Any, changes: Any, long: LongKeys, last_seq: int
) -> list[str]:
    """Problems found in one read transaction (empty: healthy)."""
    problems: list[str] = []
    expiries: dict[bytes, bytes] = {}
    short = ((k, v, k) for k, v in txn.cursor(db=items) if len(k) <= SHORT_MAX)
    for key, value, locator in itertools.chain(short, long.leaves(txn, problems)):
        if len(value) < _U64:
            problems.append(f"item {key!r}: value too short")
            continue
        try:
            load_item(stored_json(value))
        except ValueError:
            problems.append(f"item {key!r}: bad JSON")
        if stored_expiry(value):
            expiries[stored_expiry(value).to_bytes(_U64, "big") + locator] = key if len(key) > SHORT_MAX else b""
    indexed = dict(txn.cursor(db=expiry))
    if indexed != expiries:
        differ = indexed.items() ^ expiries.items()
        problems.append(f"expiry index mismatch: {len(differ)} entries differ")
    last = 0
    for key, value in txn.cursor(db=changes):
        seq = int.from_bytes(key, "big")
        try:
            record = ChangeRecord.decode(value)
        except (ValueError, TypeError):
            problems.append(f"change {seq}: undecodable")
            continue
        if record.seq != seq or seq <= last or seq > last_seq:
            problems.append(f"change {seq}: out of sequence")
        last = seq
    return problems
