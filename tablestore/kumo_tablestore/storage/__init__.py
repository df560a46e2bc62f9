"""Durable per-partition storage: items, TTL index, change log and table metadata in one LMDB store."""

from kumo_tablestore.storage.engine import Batch, Durability, StorageEngine, TransactFn, open
from kumo_tablestore.storage.group_commit import GroupCommitter
from kumo_tablestore.storage.records import (
    TTL_USER_IDENTITY,
    ChangeRecord,
    EventName,
    Item,
    WriteOp,
    dump_item,
    load_item,
)

__all__ = [
    "TTL_USER_IDENTITY",
    "Batch",
    "ChangeRecord",
    "Durability",
    "EventName",
    "GroupCommitter",
    "Item",
    "StorageEngine",
    "TransactFn",
    "WriteOp",
    "dump_item",
    "load_item",
    "open",
]
