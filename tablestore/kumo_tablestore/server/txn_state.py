"""A partition's transaction state: the lock table and the prepared transactions.

A prepared transaction is stored durably (engine metadata ``txn.p.<id>``: the computed changes, the
holder of its decision, when it was prepared) before the partition answers ``Prepared``; at start the
records are read back and their items locked again, so nothing else writes them until the decision
is known (``docs/transactions.md``).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kumo_tablestore.server.batching import GroupWriter
from kumo_tablestore.server.txn_locks import LockTable
from kumo_tablestore.storage import ChangeRecord, StorageEngine, WriteOp
from kumo_tablestore.transactions import DECISION_PREFIX, PREPARED_PREFIX, TransactionConflictException


@dataclass
class Change:
    """One item change of a prepared transaction."""

    key: bytes
    item: dict[str, Any] | None
    expires_at: int | None
    size: int | None
    change: ChangeRecord | None

    def op(self) -> WriteOp:
        return (
            WriteOp.delete(self.key)
            if self.item is None
            else WriteOp.put(self.key, self.item, self.expires_at, self.size)
        )

    def to_json(self) -> dict[str, Any]:
        c = self.change
        record = None if c is None else [c.event_name, c.keys, c.new_image, c.old_image]
        return {
            "k": base64.b64encode(self.key).decode(),
            "i": self.item,
            "e": self.expires_at,
            "s": self.size,
            "c": record,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        c = data.get("c")
        record = None if c is None else ChangeRecord(c[0], c[1], new_image=c[2], old_image=c[3])
        return cls(base64.b64decode(data["k"]), data.get("i"), data.get("e"), data.get("s"), record)


@dataclass
class Prepared:
    txid: str
    holder: list[Any]  # [table, partition]
    created: float
    changes: list[Change]
    #: Every key the transaction locked here (condition checks and no-op deletes change nothing).
    keys: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "created": self.created,
            "changes": [c.to_json() for c in self.changes],
            "keys": [base64.b64encode(k).decode() for k in self.keys],
        }

    @classmethod
    def from_json(cls, txid: str, data: dict[str, Any]) -> Prepared:
        changes = [Change.from_json(c) for c in data["changes"]]
        keys = [base64.b64decode(k) for k in data.get("keys", [])] or [c.key for c in changes]
        return cls(txid, list(data["holder"]), float(data["created"]), changes, keys)


class TxnState:
    """Locks and prepared transactions of one partition (the engine is looked up: DeleteTable swaps it)."""

    def __init__(self, engine: Callable[[], StorageEngine]) -> None:
        self._engine = engine
        self.locks = LockTable()
        self.prepared: dict[str, Prepared] = {}
        self.reload()

    def reload(self) -> None:
        """Read the prepared transactions back from the store and lock their items."""
        self.locks = LockTable()
        self.prepared = {}
        for name, value in self._engine().meta_with_prefix(PREPARED_PREFIX):
            txid = name[len(PREPARED_PREFIX) :]
            tx = Prepared.from_json(txid, value)
            self.prepared[txid] = tx
            self.locks.force_write(tx.keys, txid)

    def guard(self, writer: GroupWriter) -> None:
        """Make single-item writes on locked items fail with ``TransactionConflictException``."""
        writer.locked = lambda keys: self.locks.blocks_write(keys)
        writer.conflict = TransactionConflictException

    def decision(self, txid: str) -> str | None:
        value = self._engine().get_meta(DECISION_PREFIX + txid)
        return None if value is None else value.get("d")

    def age(self, txid: str, now: float | None = None) -> float | None:
        tx = self.prepared.get(txid)
        return None if tx is None else (time.time() if now is None else now) - tx.created

    def pending(self, older_than: float) -> list[Prepared]:
        now = time.time()
        return [tx for tx in self.prepared.values() if now - tx.created >= older_than]

    # ---- durable steps (run as the writer's exclusive jobs) ---------------------------------------------

    def store_prepared(self, tx: Prepared) -> None:
        self._engine().set_meta(PREPARED_PREFIX + tx.txid, tx.to_json())
        self.prepared[tx.txid] = tx

    def apply_now(self, changes: list[Change]) -> None:
        """One-phase: apply a single-partition transaction's changes in one local transaction."""
        self._engine().write([c.op() for c in changes], [c.change for c in changes if c.change is not None])

    def finish(self, txid: str, commit: bool, decision: str | None) -> None:
        """Apply (``commit``) or drop the prepared changes; record ``decision`` (holder) in the same transaction."""
        tx = self.prepared.get(txid)
        meta: dict[str, Any] = {PREPARED_PREFIX + txid: None}
        if decision is not None:
            meta[DECISION_PREFIX + txid] = {"d": decision, "t": time.time()}
        changes = tx.changes if (tx is not None and commit) else []
        self._engine().write_with_meta(
            [c.op() for c in changes], [c.change for c in changes if c.change is not None], meta
        )
        if tx is not None:
            self.prepared.pop(txid, None)
            self.locks.release_write(tx.keys, txid)

    def prune_decisions(self, older_than_s: float, limit: int = 100) -> int:
        """Forget up to ``limit`` decisions older than ``older_than_s`` (transaction ids start with their
        time, so the oldest come first); returns how many."""
        cutoff = time.time() - older_than_s
        old = []
        for name, value in self._engine().meta_with_prefix(DECISION_PREFIX, limit):
            if value.get("t", 0) >= cutoff:
                break
            old.append(name)
        if old:
            self._engine().write_with_meta([], [], dict.fromkeys(old))
        return len(old)
