"""Pure transaction rules: cancellation reasons in action order, the holder's decision state machine,
and the lock table."""

from __future__ import annotations

import time

from kumo_tablestore import transactions as tx
from kumo_tablestore.server.txn_locks import LockTable


def test_cancellation_reasons_are_in_action_order_with_none_elsewhere() -> None:
    partial = [
        {"Index": 3, **tx.condition_reason({"id": {"S": "x"}})},
        {"Index": 1, **tx.conflict_reason()},
        {"Index": 0, "Code": "None"},
    ]
    reasons = tx.cancellation_reasons(4, partial)
    assert [r["Code"] for r in reasons] == ["None", "TransactionConflict", "None", "ConditionalCheckFailed"]
    assert reasons[3]["Item"] == {"id": {"S": "x"}} and "Index" not in reasons[3]
    assert tx.only_conflicts(reasons) is False
    assert tx.only_conflicts(tx.cancellation_reasons(2, [{"Index": 1, **tx.conflict_reason()}])) is True
    assert "Item" not in tx.condition_reason(None)


def test_holder_decisions() -> None:
    undecided = tx.HolderView(None, 0.5)
    assert tx.on_commit(undecided) == "apply"
    assert tx.on_commit(tx.HolderView("commit", None)) == "done"
    assert tx.on_commit(tx.HolderView("abort", None)) == "refuse"
    assert tx.on_commit(tx.HolderView(None, None)) == "refuse"  # never prepared here: cannot commit
    assert tx.on_resolve(undecided, 2.0) == "pending"
    assert tx.on_resolve(tx.HolderView(None, 3.0), 2.0) == "abort"
    assert tx.on_resolve(tx.HolderView(None, None), 2.0) == "abort"
    assert tx.on_resolve(tx.HolderView("commit", None), 2.0) == "commit"
    assert tx.on_prepare(tx.HolderView("abort", None)) == "refuse"
    assert tx.on_prepare(tx.HolderView(None, None)) == "prepare"


def test_lock_table() -> None:
    locks = LockTable()
    assert locks.try_write([b"a", b"b"], "t1") == set()
    assert locks.try_write([b"b", b"c"], "t2") == {b"b"}
    assert locks.blocks_write([b"c"]) is False  # t2 took nothing
    assert locks.blocks_write([b"a"]) is True
    assert locks.try_write([b"a"], "t1") == set()  # re-entrant for the same transaction
    assert locks.try_read([b"a", b"x"], "r1", 5.0) == {b"a"}
    locks.release_write([b"a", b"b"], "t1")
    assert locks.try_read([b"a"], "r1", 5.0) == set()
    assert locks.try_write([b"a"], "t3") == {b"a"}  # read-locked
    assert locks.blocks_write([b"a"]) is True
    locks.release_read("r1")
    assert locks.try_write([b"a"], "t3") == set()
    locks.release_write([b"a"], "t3")
    assert locks.try_read([b"q"], "r2", 0.01) == set()
    time.sleep(0.02)
    assert locks.try_write([b"q"], "t4") == set()  # the lease ran out
