"""Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem."""

from __future__ import annotations

from typing import Any

from kumo_tablestore import capacity
from kumo_tablestore.errors import ConditionalCheckFailedException, ValidationException
from kumo_tablestore.expressions import apply_update, evaluate, project
from kumo_tablestore.indexes.definitions import IndexDef
from kumo_tablestore.server import json_body
from kumo_tablestore.server import requests as rq
from kumo_tablestore.server.batching import Mutation
from kumo_tablestore.server.partition import Partition
from kumo_tablestore.server.throughput import refuse_exhausted
from kumo_tablestore.storage import ChangeRecord, load_item
from kumo_tablestore.values import Item, item_size, validate_item

MAX_ITEM_BYTES = 400 * 1024
ITEM_TOO_LARGE = "Item size has exceeded the maximum allowed size"
UPDATE_TOO_LARGE = "Item size to update has exceeded the maximum allowed size"


def _capacity(body: dict[str, Any], table: str, mode: str, used: capacity.Consumption) -> dict[str, Any]:
    consumed = used.to_wire(table, mode)  # type: ignore[arg-type]
    if consumed is not None:
        body["ConsumedCapacity"] = consumed
    return body


def write_costs(part: Partition, mode: str = "TOTAL") -> tuple[tuple[IndexDef, ...], frozenset[str]]:
    """The indexes whose write units a write must count (none when neither a bucket nor the answer needs
    them: on-demand without ``ReturnConsumedCapacity``) and the GSIs out of write capacity, taken before it."""
    if mode == "NONE" and not part.throughput.provisioned:
        return (), frozenset()
    return tuple(part.indexes.definitions().values()), part.throughput.exhausted_indexes()


def item_write_cost(
    table_units: float,
    indexes: tuple[IndexDef, ...],
    exhausted: frozenset[str],
    key: bytes,
    old: Item | None,
    new: Item | None,
) -> capacity.Consumption:
    """A write's units on the table and its indexes; refused when it changes a GSI with no capacity left."""
    used = capacity.Consumption(table_write=table_units)
    if indexes:
        capacity.index_writes(indexes, key, old, new, used)
        refuse_exhausted(used, exhausted)
    return used


def _check_condition(cond: Any, old: Item | None, on_failure: str) -> None:
    if cond is not None and not evaluate(cond, old or {}):
        raise ConditionalCheckFailedException(item=old if on_failure == "ALL_OLD" and old else None)


def change_for(keys: Item, old: Item | None, new: Item | None) -> ChangeRecord | None:
    """The change-log record of one item write (``None`` when nothing changed)."""
    if new is None:
        return None if old is None else ChangeRecord("REMOVE", keys, old_image=old)
    if old is None:
        return ChangeRecord("INSERT", keys, new_image=new)
    return None if old == new else ChangeRecord("MODIFY", keys, new_image=new, old_image=old)


def validated_item(raw: Any, part: Partition) -> tuple[bytes, Item, Item]:
    """Validate a PutItem/PutRequest item: ``(storage key, key attributes, item)``."""
    key, key_attrs, item, _ = sized_item(raw, part)
    return key, key_attrs, item


def sized_item(raw: Any, part: Partition) -> tuple[bytes, Item, Item, int]:
    """:func:`validated_item` plus the item's size."""
    if raw is None:
        raise rq.constraint("null", "item", "Member must not be null")
    item = validate_item(raw)
    key, key_attrs = part.require_meta().encode_item_key(item)
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise ValidationException(ITEM_TOO_LARGE)
    return key, key_attrs, item, size


async def put_item(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    key, key_attrs, item, size = sized_item(body.get("Item"), part)
    returns = rq.return_values(body, ("NONE", "ALL_OLD"))
    on_failure = rq.return_values_on_failure(body)
    mode = rq.capacity_mode(body)
    cond = rq.compile_expressions(body, ("ConditionExpression",)).condition
    part.throughput.admit_write()
    indexes, exhausted = write_costs(part, mode)

    def apply(state: dict[bytes, Item | None], now: float) -> tuple[Any, list[Mutation]]:
        old = state[key]
        _check_condition(cond, old, on_failure)
        units = capacity.put_units(item_size(old) if old else None, size)
        used = item_write_cost(units, indexes, exhausted, key, old, item)
        change = change_for(key_attrs, old, item)
        return (old, used), [Mutation(key, item, meta.expiry(item, now), change, size)]

    old, used = await part.writer.submit([key], apply)
    part.throughput.charge(used)
    out: dict[str, Any] = {}
    if returns == "ALL_OLD" and old:
        out["Attributes"] = old
    return _capacity(out, meta.name, mode, used)


async def delete_item(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    key, key_attrs = meta.encode_request_key(body.get("Key"))
    returns = rq.return_values(body, ("NONE", "ALL_OLD"))
    on_failure = rq.return_values_on_failure(body)
    mode = rq.capacity_mode(body)
    cond = rq.compile_expressions(body, ("ConditionExpression",)).condition
    part.throughput.admit_write()
    indexes, exhausted = write_costs(part, mode)

    def apply(state: dict[bytes, Item | None], now: float) -> tuple[Any, list[Mutation]]:
        old = state[key]
        _check_condition(cond, old, on_failure)
        units = capacity.delete_units(item_size(old) if old else None)
        used = item_write_cost(units, indexes, exhausted, key, old, None)
        if old is None:
            return (None, used), []
        return (old, used), [Mutation(key, None, None, change_for(key_attrs, old, None))]

    old, used = await part.writer.submit([key], apply)
    part.throughput.charge(used)
    out: dict[str, Any] = {}
    if returns == "ALL_OLD" and old:
        out["Attributes"] = old
    return _capacity(out, meta.name, mode, used)


async def update_item(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    key, key_attrs = meta.encode_request_key(body.get("Key"))
    returns = rq.return_values(body, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
    on_failure = rq.return_values_on_failure(body)
    mode = rq.capacity_mode(body)
    exprs = rq.compile_expressions(body, ("ConditionExpression", "UpdateExpression"))
    part.throughput.admit_write()
    indexes, exhausted = write_costs(part, mode)

    def apply(state: dict[bytes, Item | None], now: float) -> tuple[Any, list[Mutation]]:
        old = state[key]
        _check_condition(exprs.condition, old, on_failure)
        base = old if old is not None else dict(key_attrs)
        if exprs.update is not None:
            result = apply_update(exprs.update, base, meta.key_names)
            new, paths = result.item, result.updated_paths
        else:
            new, paths = dict(base), ()
        new_size = item_size(new)
        if new_size > MAX_ITEM_BYTES:
            raise ValidationException(UPDATE_TOO_LARGE)
        units = capacity.put_units(item_size(old) if old else None, new_size)
        used = item_write_cost(units, indexes, exhausted, key, old, new)
        answer = (_returned(returns, old, new, paths), used)
        if old is not None and old == new:
            return answer, []
        return answer, [Mutation(key, new, meta.expiry(new, now), change_for(key_attrs, old, new), new_size)]

    attributes, used = await part.writer.submit([key], apply)
    part.throughput.charge(used)
    out: dict[str, Any] = {}
    if attributes:
        out["Attributes"] = attributes
    return _capacity(out, meta.name, mode, used)


def _returned(returns: str, old: Item | None, new: Item, paths: Any) -> Item | None:
    if returns == "ALL_OLD":
        return old
    if returns == "ALL_NEW":
        return new
    if returns == "UPDATED_OLD":
        return project(old, paths) if paths else None
    if returns == "UPDATED_NEW":
        return project(new, paths) if paths else None
    return None


async def get_item(part: Partition, body: dict[str, Any]) -> dict[str, Any] | bytes:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    key, _ = meta.encode_request_key(body.get("Key"))
    consistent = rq.boolean(body, "ConsistentRead")
    mode = rq.capacity_mode(body)
    projection = rq.compile_expressions(body, ("ProjectionExpression",)).projection
    part.throughput.admit_read()
    if projection is None:  # the whole item: splice its stored JSON into the answer
        record = part.engine.get_record(key)
        size = None
        if record is not None:
            raw, size = record
            if size is None:  # stored before sizes were
                size = item_size(load_item(raw))
        units = capacity.get_item_units(size, consistent)
        part.throughput.charge_read(units)
        out = _capacity({}, meta.name, mode, capacity.Consumption(table_read=units))
        return json_body.encode(out) if record is None else json_body.splice("Item", raw, out)
    item = part.get_item(key)
    units = capacity.get_item_units(item_size(item) if item else None, consistent)
    part.throughput.charge_read(units)
    out: dict[str, Any] = {}
    if item is not None:
        out["Item"] = project(item, projection) if projection is not None else item
    return _capacity(out, meta.name, mode, capacity.Consumption(table_read=units))
