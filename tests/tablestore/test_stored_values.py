"""The stored item value (expiry, size, JSON) in both versions, and the change record's stored form."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from kumo_tablestore import storage
from kumo_tablestore.storage import ChangeRecord, WriteOp
from kumo_tablestore.storage.records import encode_stored, split_stored, stored_expiry, stored_item, stored_json
from kumo_tablestore.values import item_size

ITEM = {"pk": {"S": "a"}, "n": {"N": "12"}, "m": {"M": {"x": {"L": [{"BOOL": True}]}}}}


def test_sized_and_unsized_values_round_trip() -> None:
    raw = storage.dump_item(ITEM)
    for exp in (0, 1, 1_700_000_000, 2**63 - 1):
        sized = encode_stored(raw, exp, 321)
        assert stored_expiry(sized) == exp
        assert stored_item(sized) == (raw, 321)
        assert bytes(stored_json(memoryview(sized))) == raw
        assert split_stored(sized) == split_stored(memoryview(sized)) == (exp, raw, 321)
        old = encode_stored(raw, exp, None)  # version 1: no size
        assert old == exp.to_bytes(8, "big") + raw
        assert stored_expiry(old) == exp and stored_item(old) == (raw, None)
        assert split_stored(old) == (exp, raw, None)


def test_put_of_a_dict_stores_its_size(tmp_path: Path) -> None:
    assert WriteOp.put(b"k", ITEM).size == item_size(ITEM)
    assert WriteOp.put(b"k", storage.dump_item(ITEM)).size is None
    with storage.open(tmp_path, durability="off") as engine:
        engine.write([WriteOp.put(b"new", ITEM, 2**40), WriteOp.put(b"old", storage.dump_item(ITEM))])
        assert engine.get_record(b"new") == (storage.dump_item(ITEM), item_size(ITEM))
        assert engine.get_record(b"old") == (storage.dump_item(ITEM), None)
        assert engine.get(b"new") == engine.get(b"old") == ITEM
        rows = list(engine.scan(sized=True))
        assert [(k, size) for k, _, size in rows] == [(b"new", item_size(ITEM)), (b"old", None)]
        assert [k for k, _ in engine.scan()] == [b"new", b"old"]
        assert engine.expired_keys(2**40 + 1) == [b"new"]
        assert engine.check_integrity() == []
        engine.write([WriteOp.delete(b"new")])  # removes the TTL index entry of a sized value
        assert engine.expired_keys(2**41) == [] and engine.check_integrity() == []


def test_change_record_stores_every_field() -> None:
    record = ChangeRecord("MODIFY", {"pk": {"S": "a"}}, ITEM, ITEM, 12.5, True, 7)
    body = json.loads(record.encode()[8:])
    assert list(body) == [f.name for f in dataclasses.fields(ChangeRecord)]
    assert ChangeRecord.decode(record.encode()) == record
