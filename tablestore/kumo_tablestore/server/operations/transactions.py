"""The partition's side of TransactWriteItems/TransactGetItems: prepare, commit, abort, resolve, reads.

The contract is :mod:`kumo_tablestore.transactions`; the design is ``docs/transactions.md``. Prepare,
commit and abort run as the group writer's exclusive jobs, so they are ordered with every single-item
write of the partition; the items a prepared transaction changes stay write-locked until its decision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kumo_tablestore import capacity
from kumo_tablestore import transactions as tx
from kumo_tablestore.errors import ProvisionedThroughputExceededException, ValidationException
from kumo_tablestore.expressions import apply_update, evaluate, project
from kumo_tablestore.indexes.definitions import IndexDef
from kumo_tablestore.server import requests as rq
from kumo_tablestore.server.operations.items import (
    MAX_ITEM_BYTES,
    UPDATE_TOO_LARGE,
    change_for,
    item_write_cost,
    sized_item,
    write_costs,
)
from kumo_tablestore.server.partition import Partition
from kumo_tablestore.server.txn_state import Change, Prepared
from kumo_tablestore.values import Item, item_size

#: Read locks of TransactGetItems expire after this (a coordinator that died never releases them).
READ_LEASE_S = 5.0


@dataclass
class _Action:
    index: int
    kind: str
    key: bytes
    key_attrs: Item
    item: Item | None  # Put
    size: int | None
    exprs: rq.Expressions
    on_failure: str


def _parse(part: Partition, index: int, kind: str, op: dict[str, Any]) -> _Action:
    meta = part.require_meta()
    rq.refuse_legacy(op)
    rq.check_table(op, meta)
    on_failure = rq.return_values_on_failure(op)
    item = size = None
    if kind == "Put":
        key, key_attrs, item, size = sized_item(op.get("Item"), part)
        exprs = rq.compile_expressions(op, ("ConditionExpression",))
    else:
        key, key_attrs = meta.encode_request_key(op.get("Key"))
        kinds = ("ConditionExpression", "UpdateExpression") if kind == "Update" else ("ConditionExpression",)
        exprs = rq.compile_expressions(op, kinds)
    return _Action(index, kind, key, key_attrs, item, size, exprs, on_failure)


def _evaluate(
    part: Partition,
    actions: list[_Action],
    current: dict[bytes, Item | None],
    now: float,
    costs: tuple[tuple[IndexDef, ...], frozenset[str]] = ((), frozenset()),
) -> tuple[list[dict[str, Any]], list[Change], dict[int, capacity.Consumption]]:
    """Reasons of failed conditions (and of GSIs out of capacity, ``costs``: :func:`write_costs`), the
    changes and each action's capacity units (pure over ``current``)."""
    meta = part.require_meta()
    reasons: list[dict[str, Any]] = []
    changes: list[Change] = []
    units: dict[int, capacity.Consumption] = {}
    for a in actions:
        old = current.get(a.key)
        if a.exprs.condition is not None and not evaluate(a.exprs.condition, old or {}):
            reasons.append({"Index": a.index, **tx.condition_reason(old if a.on_failure == "ALL_OLD" else None)})
            continue
        old_size = item_size(old) if old else None
        if a.kind == "ConditionCheck":
            read = capacity.read_units(old_size or 0, consistent=True, transactional=True)
            units[a.index] = capacity.Consumption(table_read=read)
            continue
        if a.kind == "Delete":
            try:
                used = item_write_cost(capacity.delete_units(old_size, transactional=True), *costs, a.key, old, None)
            except ProvisionedThroughputExceededException:
                reasons.append({"Index": a.index, **tx.throughput_reason(gsi=True)})
                continue
            units[a.index] = used
            if old is not None:
                changes.append(Change(a.key, None, None, None, change_for(a.key_attrs, old, None)))
            continue
        if a.kind == "Put":
            new, size = a.item, a.size
        else:
            base = old if old is not None else dict(a.key_attrs)
            new = apply_update(a.exprs.update, base, meta.key_names).item if a.exprs.update else dict(base)
            size = item_size(new)
            if size > MAX_ITEM_BYTES:
                raise ValidationException(UPDATE_TOO_LARGE)
        assert new is not None
        try:
            used = item_write_cost(capacity.put_units(old_size, size or 0, transactional=True), *costs, a.key, old, new)
        except ProvisionedThroughputExceededException:
            reasons.append({"Index": a.index, **tx.throughput_reason(gsi=True)})
            continue
        units[a.index] = used
        changes.append(Change(a.key, new, meta.expiry(new, now), size, change_for(a.key_attrs, old, new)))
    return reasons, changes, units


def _is_holder(part: Partition, holder: list[Any]) -> bool:
    return list(holder) == [part.name, part.index]


async def prepare(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    txid = str(body["TxId"])
    holder = list(body.get("Holder") or [part.name, part.index])
    one_phase = bool(body.get("OnePhase"))
    actions = [_parse(part, a["Index"], a["Kind"], a["Op"]) for a in body["Actions"]]
    keys = [a.key for a in actions]
    state = part.txns
    throttled = _throttled(part, actions)
    if throttled:
        return {"Prepared": False, "Reasons": throttled}
    costs = write_costs(part)
    if (
        not one_phase
        and _is_holder(part, holder)
        and tx.on_prepare(tx.HolderView(state.decision(txid), None)) == "refuse"
    ):
        return {"Prepared": False, "Reasons": [{"Index": a.index, **tx.conflict_reason()} for a in actions]}
    busy = state.locks.try_write(keys, txid)
    if busy:
        conflicts = [{"Index": a.index, **tx.conflict_reason()} for a in actions if a.key in busy]
        return {"Prepared": False, "Reasons": conflicts}

    def run() -> dict[str, Any]:
        now = time.time()
        reasons, changes, units = _evaluate(part, actions, part.engine.get_many(keys, now=now), now, costs)
        if reasons:
            return {"Prepared": False, "Reasons": reasons}
        if one_phase:
            state.apply_now(changes)
        else:
            state.store_prepared(Prepared(txid, holder, now, changes, keys))
        return {"Prepared": True, "Reasons": [], "Units": {str(i): u.to_dict() for i, u in units.items()}}

    try:
        out = await part.writer.exclusive(run)
    except BaseException:
        state.locks.release_write(keys, txid)
        raise
    if one_phase or not out["Prepared"]:
        state.locks.release_write(keys, txid)
    for used in out.get("Units", {}).values():
        part.throughput.charge(capacity.Consumption.from_dict(used))
    return out


def _throttled(part: Partition, actions: list[_Action]) -> list[dict[str, Any]]:
    """Reasons for every action when the table has no capacity left for them (reads for ConditionChecks)."""
    checks = any(a.kind == "ConditionCheck" for a in actions)
    writes = any(a.kind != "ConditionCheck" for a in actions)
    if (writes and not part.throughput.has_write_capacity()) or (checks and not part.throughput.has_read_capacity()):
        return [{"Index": a.index, **tx.throughput_reason()} for a in actions]
    return []


async def commit(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    txid = str(body["TxId"])
    holder = bool(body.get("Holder"))
    state = part.txns

    def run() -> dict[str, Any]:
        if holder:
            step = tx.on_commit(tx.HolderView(state.decision(txid), state.age(txid)))
            if step == "refuse":
                raise tx.TxAborted()
            if step == "done":
                return {}
            state.finish(txid, True, "commit")
        elif txid in state.prepared:
            state.finish(txid, True, None)
        return {}

    return await part.writer.exclusive(run)


async def abort(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    txid = str(body["TxId"])
    holder = bool(body.get("Holder"))
    state = part.txns

    def run() -> dict[str, Any]:
        if holder:
            if state.decision(txid) == "commit":
                raise ValidationException("The transaction is already committed")
            state.finish(txid, False, "abort")
        elif txid in state.prepared:
            state.finish(txid, False, None)
        return {}

    return await part.writer.exclusive(run)


async def resolve(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    """At the holder: the decision of ``TxId`` (deciding ``abort`` when the coordinator is gone)."""
    txid = str(body["TxId"])
    undecided_after = float(body.get("UndecidedAfter", 5.0))
    state = part.txns

    def run() -> dict[str, Any]:
        decision = tx.on_resolve(tx.HolderView(state.decision(txid), state.age(txid)), undecided_after)
        if decision == "abort" and state.decision(txid) is None:
            state.finish(txid, False, "abort")
        return {"Decision": decision}

    return await part.writer.exclusive(run)


async def pending(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    older_than = float(body.get("OlderThan", 2.0))
    state = part.txns
    await part.writer.exclusive(lambda: state.prune_decisions(tx.DECISION_RETENTION_S))
    out = [{"TxId": p.txid, "Holder": p.holder} for p in state.pending(older_than)]
    return {"Pending": out, "Table": part.name, "Partition": part.index}


async def read(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    read_id = body.get("ReadId") if body.get("Lock") else None
    gets: list[tuple[int, bytes, Any]] = []
    for g in body["Gets"]:
        op = g["Op"]
        rq.refuse_legacy(op)
        rq.check_table(op, meta)
        key, _ = meta.encode_request_key(op.get("Key"))
        projection = rq.compile_expressions(op, ("ProjectionExpression",)).projection
        gets.append((g["Index"], key, projection))
    if not part.throughput.has_read_capacity():
        return {"Throttled": [i for i, _, _ in gets]}
    busy = part.txns.locks.try_read([k for _, k, _ in gets], read_id, READ_LEASE_S)
    if busy:
        return {"Conflict": [i for i, k, _ in gets if k in busy]}
    current = part.engine.get_many([k for _, k, _ in gets])
    items: dict[str, Any] = {}
    units: dict[str, float] = {}
    for index, key, projection in gets:
        item = current.get(key)
        units[str(index)] = capacity.read_units(item_size(item) if item else 0, consistent=True, transactional=True)
        items[str(index)] = None if item is None else (project(item, projection) if projection else item)
    part.throughput.charge_read(sum(units.values()))
    return {"Items": items, "Units": units}


async def release(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    part.txns.locks.release_read(str(body["ReadId"]))
    return {}


HANDLERS = {
    tx.PREPARE: prepare,
    tx.COMMIT: commit,
    tx.ABORT: abort,
    tx.RESOLVE: resolve,
    tx.PENDING: pending,
    tx.READ: read,
    tx.RELEASE: release,
}
