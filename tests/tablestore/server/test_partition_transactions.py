"""The partition's transaction steps over its real HTTP server: prepare locks and stores durably, single
writes on locked items conflict, commit applies with change-log records, the holder's decision fences a
late commit, a restarted partition locks its prepared items again, and the TTL sweeper leaves items a
prepared transaction holds until its decision."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from partition_support import Client, N, S, describe
from support import await_until

from kumo_tablestore import transactions as tx
from kumo_tablestore.server import PartitionServer


def _put(pk: str, bal: int, **extra) -> dict:
    return {"Kind": "Put", "Op": {"TableName": "t", "Item": {"pk": S(pk), "sk": S("a"), "bal": N(bal), **extra}}}


def _prepare(txid: str, actions: list[dict], holder: list | None = None, one_phase: bool = False) -> dict:
    return {
        "TxId": txid,
        "Holder": holder or ["t", 0],
        "OnePhase": one_phase,
        "Actions": [{"Index": i, **a} for i, a in enumerate(actions)],
    }


KEY_A = {"pk": S("a"), "sk": S("a")}


async def test_prepare_locks_until_commit_and_commit_applies_with_change_log(client: Client, server) -> None:
    await client.put(pk=S("a"), sk=S("a"), bal=N(10))
    out = await client.ok(tx.PREPARE, _prepare("t1", [_put("a", 5), _put("b", 7)]))
    assert out["Prepared"] is True and set(out["Units"]) == {"0", "1"}
    # Prepared but not committed: readers see the pre-image, writers conflict.
    got = await client.ok("GetItem", {"TableName": "t", "Key": KEY_A})
    assert got["Item"]["bal"] == N(10)
    await client.error("PutItem", {"TableName": "t", "Item": {**KEY_A, "bal": N(1)}}, "TransactionConflictException")
    # A second transaction on the same item conflicts.
    other = await client.ok(tx.PREPARE, _prepare("t2", [_put("a", 99)], holder=["t", 0]))
    assert other["Prepared"] is False and other["Reasons"][0]["Code"] == "TransactionConflict"
    seq_before = (await client.call("GET", "/stats"))[1]["last_sequence"]
    await client.ok(tx.COMMIT, {"TxId": "t1", "Holder": True})
    got = await client.ok("GetItem", {"TableName": "t", "Key": KEY_A})
    assert got["Item"]["bal"] == N(5)
    assert (await client.call("GET", "/stats"))[1]["last_sequence"] == seq_before + 2  # MODIFY a, INSERT b
    await client.ok("PutItem", {"TableName": "t", "Item": {**KEY_A, "bal": N(1)}})  # unlocked again
    # Committing again is idempotent; the holder remembers its decision.
    await client.ok(tx.COMMIT, {"TxId": "t1", "Holder": True})
    assert (await client.ok(tx.RESOLVE, {"TxId": "t1"}))["Decision"] == "commit"


async def test_failed_condition_gives_reason_with_item_and_locks_nothing(client: Client) -> None:
    await client.put(pk=S("a"), sk=S("a"), bal=N(10))
    check = {
        "Kind": "ConditionCheck",
        "Op": {
            "TableName": "t",
            "Key": KEY_A,
            "ConditionExpression": "bal > :v",
            "ExpressionAttributeValues": {":v": N(100)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    }
    out = await client.ok(tx.PREPARE, _prepare("t3", [_put("z", 1), check]))
    assert out["Prepared"] is False
    assert out["Reasons"] == [
        {"Index": 1, "Code": "ConditionalCheckFailed", "Message": tx.CONDITION_MESSAGE, "Item": {**KEY_A, "bal": N(10)}}
    ]
    await client.ok("PutItem", {"TableName": "t", "Item": {**KEY_A, "bal": N(2)}})


async def test_abort_decision_fences_a_late_commit(client: Client) -> None:
    await client.ok(tx.PREPARE, _prepare("t4", [_put("c", 1)]))
    assert (await client.ok(tx.RESOLVE, {"TxId": "t4", "UndecidedAfter": 60}))["Decision"] == "pending"
    assert (await client.ok(tx.RESOLVE, {"TxId": "t4", "UndecidedAfter": 0}))["Decision"] == "abort"
    status, out = await client.op(tx.COMMIT, {"TxId": "t4", "Holder": True})
    assert status == 409 and out["__type"].endswith("KumoTransactionAborted")
    got = await client.ok("GetItem", {"TableName": "t", "Key": {"pk": S("c"), "sk": S("a")}})
    assert "Item" not in got
    # A prepare arriving after the decision (a delayed request) is refused too.
    late = await client.ok(tx.PREPARE, _prepare("t4", [_put("c", 1)]))
    assert late["Prepared"] is False


async def test_read_locks_block_prepare_and_prepared_items_block_reads(client: Client) -> None:
    await client.put(pk=S("a"), sk=S("a"), bal=N(10))
    get = {"Index": 0, "Op": {"TableName": "t", "Key": KEY_A}}
    out = await client.ok(tx.READ, {"ReadId": "r1", "Lock": True, "Gets": [get]})
    assert out["Items"]["0"]["bal"] == N(10)
    blocked = await client.ok(tx.PREPARE, _prepare("t5", [_put("a", 1)]))
    assert blocked["Prepared"] is False
    await client.ok(tx.RELEASE, {"ReadId": "r1"})
    assert (await client.ok(tx.PREPARE, _prepare("t5b", [_put("a", 1)])))["Prepared"] is True
    assert (await client.ok(tx.READ, {"ReadId": "r2", "Lock": True, "Gets": [get]})) == {"Conflict": [0]}
    await client.ok(tx.ABORT, {"TxId": "t5b", "Holder": True})
    assert (await client.ok(tx.READ, {"ReadId": "r3", "Lock": False, "Gets": [get]}))["Items"]["0"]["bal"] == N(10)


async def test_restarted_partition_keeps_prepared_locks_and_commits_them(tmp_path: Path) -> None:
    data = tmp_path / "p"
    async with aiohttp.ClientSession() as session:
        srv = PartitionServer(data_dir=data)
        await srv.start()
        c = Client(srv.url, session)
        await c.create(describe())
        out = await c.ok(tx.PREPARE, _prepare("t6", [_put("a", 3)], holder=["other", 1]))
        assert out["Prepared"] is True
        await srv.stop()

        srv = PartitionServer(data_dir=data)
        await srv.start()
        try:
            c = Client(srv.url, session)
            pending = await c.ok(tx.PENDING, {"OlderThan": 0})
            assert pending["Pending"] == [{"TxId": "t6", "Holder": ["other", 1]}]
            await c.error("PutItem", {"TableName": "t", "Item": {**KEY_A, "bal": N(1)}}, "TransactionConflictException")
            await c.ok(tx.COMMIT, {"TxId": "t6", "Holder": False})
            got = await c.ok("GetItem", {"TableName": "t", "Key": KEY_A})
            assert got["Item"]["bal"] == N(3)
            assert (await c.ok(tx.PENDING, {"OlderThan": 0}))["Pending"] == []
        finally:
            await srv.stop()


async def test_one_phase_applies_at_once(client: Client) -> None:
    out = await client.ok(tx.PREPARE, _prepare("t7", [_put("d", 4)], one_phase=True))
    assert out["Prepared"] is True
    got = await client.ok("GetItem", {"TableName": "t", "Key": {"pk": S("d"), "sk": S("a")}})
    assert got["Item"]["bal"] == N(4)
    assert (await client.ok(tx.PENDING, {"OlderThan": 0}))["Pending"] == []


async def test_condition_check_lock_is_released_at_commit(client: Client) -> None:
    await client.put(pk=S("a"), sk=S("a"), bal=N(10))
    check = {
        "Kind": "ConditionCheck",
        "Op": {"TableName": "t", "Key": KEY_A, "ConditionExpression": "attribute_exists(pk)"},
    }
    delete_missing = {"Kind": "Delete", "Op": {"TableName": "t", "Key": {"pk": S("none"), "sk": S("a")}}}
    assert (await client.ok(tx.PREPARE, _prepare("t8", [check, delete_missing])))["Prepared"] is True
    await client.error("PutItem", {"TableName": "t", "Item": {**KEY_A, "bal": N(1)}}, "TransactionConflictException")
    await client.ok(tx.COMMIT, {"TxId": "t8", "Holder": True})
    await client.ok("PutItem", {"TableName": "t", "Item": {**KEY_A, "bal": N(1)}})
    await client.ok("PutItem", {"TableName": "t", "Item": {"pk": S("none"), "sk": S("a")}})


async def test_old_decisions_are_pruned(server, client: Client) -> None:
    await client.ok(tx.PREPARE, _prepare("0001", [_put("e", 1)]))
    await client.ok(tx.COMMIT, {"TxId": "0001", "Holder": True})
    state = server.partition.txns
    assert state.prune_decisions(3600) == 0 and state.decision("0001") == "commit"
    assert state.prune_decisions(-1) == 1 and state.decision("0001") is None


def _update(pk: str, expression: str, values: dict) -> dict:
    op = {"TableName": "t", "Key": {"pk": S(pk), "sk": S("a")}, "UpdateExpression": expression}
    return {"Kind": "Update", "Op": {**op, "ExpressionAttributeValues": values}}


def _ttl_log(server, pk: str) -> list[tuple[str, bool, dict | None]]:
    """(event, TTL delete?, old image) of ``pk``'s change-log records, in order."""
    records = server.partition.engine.read_change_log()
    return [(r.event_name, r.ttl_delete, r.old_image) for r in records if r.keys["pk"] == S(pk)]


async def test_sweeper_leaves_items_a_prepared_transaction_holds(server, client: Client) -> None:
    await client.create(describe(ttl="expires"))
    soon = int(time.time()) + 1  # alive while the transactions prepare, expired (hidden) from soon + 1 on
    for pk in ("a", "b", "c"):
        await client.put(pk=S(pk), sk=S("a"), bal=N(10), expires=N(soon))
    # t1 (held by another partition) debits a and renews c; t2 debits b. Both prepared on live items.
    debit = _update("a", "SET bal = bal - :d", {":d": N(3)})
    renew = _update("c", "SET expires = :e", {":e": N(int(time.time()) + 3600)})
    assert (await client.ok(tx.PREPARE, _prepare("t1", [debit, renew], holder=["other", 1])))["Prepared"] is True
    other_debit = _update("b", "SET bal = bal - :d", {":d": N(3)})
    assert (await client.ok(tx.PREPARE, _prepare("t2", [other_debit])))["Prepared"] is True

    await await_until(lambda: time.time() >= soon + 1, timeout=10, what="the items to expire")
    assert (await client.ok("Scan", {}))["Count"] == 0  # reads hide them
    # A sweep pass after the expiry: an expired marker item, put now, is swept.
    await client.put(pk=S("marker"), sk=S("a"), expires=N(soon - 10))
    await await_until(lambda: _ttl_log(server, "marker")[-1][0] == "REMOVE", timeout=30, what="a sweep")
    assert server.partition.engine.count() == 3  # a, b, c: locked, left for a later pass
    assert [e for e, _, _ in _ttl_log(server, "a") + _ttl_log(server, "b")] == ["INSERT", "INSERT"]

    # Commit t1: a gets its debit, then (still expired) is swept with the committed image; c was renewed.
    await client.ok(tx.COMMIT, {"TxId": "t1", "Holder": False})
    await await_until(lambda: len(_ttl_log(server, "a")) == 3, timeout=30, what="a to be swept")
    (insert, modify, remove) = _ttl_log(server, "a")
    assert (insert[0], modify[:2], remove[:2]) == ("INSERT", ("MODIFY", False), ("REMOVE", True))
    assert modify[2]["bal"] == N(10) and remove[2]["bal"] == N(7)
    got = await client.ok("GetItem", {"TableName": "t", "Key": {"pk": S("c"), "sk": S("a")}})
    assert got["Item"]["bal"] == N(10)
    # Abort t2: nothing of it applied; b is swept with its original image.
    await client.ok(tx.ABORT, {"TxId": "t2", "Holder": True})
    await await_until(lambda: len(_ttl_log(server, "b")) == 2, timeout=30, what="b to be swept")
    assert _ttl_log(server, "b")[1][:2] == ("REMOVE", True) and _ttl_log(server, "b")[1][2]["bal"] == N(10)
    assert server.partition.engine.count() == 1  # c
