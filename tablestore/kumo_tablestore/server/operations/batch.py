"""BatchGetItem and BatchWriteItem for this partition's share of one table's requests.

On a provisioned table the share is admitted request by request while the bucket has capacity left;
the rest comes back in UnprocessedKeys/UnprocessedItems (nothing admitted: the throttling error).
"""

from __future__ import annotations

from typing import Any

from kumo_tablestore import capacity
from kumo_tablestore.errors import (
    ProvisionedThroughputExceededException,
    ResourceNotFoundException,
    ValidationException,
)
from kumo_tablestore.expressions import project
from kumo_tablestore.server import requests as rq
from kumo_tablestore.server.batching import Mutation
from kumo_tablestore.server.operations.items import change_for, item_write_cost, validated_item, write_costs
from kumo_tablestore.server.partition import Partition
from kumo_tablestore.server.table_meta import TableMeta
from kumo_tablestore.values import Item, item_size
from kumo_tablestore.write_requests import split_write_request

MAX_GET_KEYS = 100
MAX_WRITE_REQUESTS = 25
DUPLICATES = "Provided list of item keys contains duplicates"
#: BatchGetItem answers at most 16 MB; keys beyond that come back as UnprocessedKeys.
MAX_BATCH_GET_BYTES = 16 * 1024 * 1024


def _share(body: dict[str, Any], meta: TableMeta) -> tuple[str, Any]:
    """The one ``RequestItems`` entry for this partition's table."""
    rq.refuse_legacy(body)
    request_items = rq.require_map(body, "RequestItems")
    if not request_items:
        raise rq.constraint("{}", "requestItems", "Member must have length greater than or equal to 1")
    if len(request_items) != 1:
        raise ValidationException("A partition server takes the requests of exactly one table")
    ((name, share),) = request_items.items()
    if name != meta.name:
        raise ResourceNotFoundException()
    return name, share


def _consumed(name: str, mode: str, *, read: float = 0.0, write: float = 0.0) -> list[dict[str, Any]] | None:
    wire = capacity.Consumption(table_read=read, table_write=write).to_wire(name, mode)  # type: ignore[arg-type]
    return None if wire is None else [wire]


async def batch_get_item(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    name, share = _share(body, meta)
    mode = rq.capacity_mode(body)
    if not isinstance(share, dict):
        raise ValidationException("RequestItems entries must be maps with Keys")
    rq.refuse_legacy(share)
    raw_keys = share.get("Keys")
    if not isinstance(raw_keys, list) or not raw_keys:
        raise rq.constraint(raw_keys, "requestItems.member.keys", "Member must have length greater than or equal to 1")
    if len(raw_keys) > MAX_GET_KEYS:
        raise ValidationException("Too many items requested for the BatchGetItem call")
    encoded = [meta.encode_request_key(k) for k in raw_keys]
    if len({k for k, _ in encoded}) != len(encoded):
        raise ValidationException(DUPLICATES)
    consistent = rq.boolean(share, "ConsistentRead")
    projection = rq.compile_expressions(share, ("ProjectionExpression",)).projection
    part.throughput.admit_read()  # nothing left: refuse before reading
    found = part.engine.get_many([k for k, _ in encoded])
    sizes: list[int | None] = []
    total = 0
    for key, _ in encoded:  # the prefix that fits in 16 MB
        item = found[key]
        size = item_size(item) if item else None
        if total + (size or 0) > MAX_BATCH_GET_BYTES:
            break
        total += size or 0
        sizes.append(size)
    costs = [capacity.get_item_units(s, consistent) for s in sizes]
    done = part.throughput.take_reads(costs)
    items: list[Item] = []
    for key, _ in encoded[:done]:
        if (item := found[key]) is not None:
            items.append(project(item, projection) if projection is not None else item)
    units = sum(costs[:done])
    out: dict[str, Any] = {"Responses": {name: items}, "UnprocessedKeys": {}}
    if done < len(encoded):
        rest = {k: v for k, v in share.items() if k != "Keys"}
        out["UnprocessedKeys"] = {name: {**rest, "Keys": [attrs for _, attrs in encoded[done:]]}}
    if (consumed := _consumed(name, mode, read=units)) is not None:
        out["ConsumedCapacity"] = consumed
    return out


def _write_request(raw: Any, part: Partition) -> tuple[bytes, Item, Item | None]:
    """``(storage key, key attributes, item or None for a delete)`` of one WriteRequest."""
    kind, request = split_write_request(raw)
    if kind == "PutRequest":
        key, key_attrs, item = validated_item(request.get("Item"), part)
        return key, key_attrs, item
    key, key_attrs = part.require_meta().encode_request_key(request.get("Key"))
    return key, key_attrs, None


async def batch_write_item(part: Partition, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    name, share = _share(body, meta)
    mode = rq.capacity_mode(body)
    if not isinstance(share, list) or not share:
        raise rq.constraint(share, "requestItems", "Member must have length greater than or equal to 1")
    if len(share) > MAX_WRITE_REQUESTS:
        raise rq.constraint(
            "[...]",
            "requestItems",
            f"Map value must satisfy constraint: [Member must have length less than or equal to {MAX_WRITE_REQUESTS}]",
        )
    writes = [_write_request(r, part) for r in share]
    if len({k for k, _, _ in writes}) != len(writes):
        raise ValidationException(DUPLICATES)
    sizes = [None if item is None else item_size(item) for _, _, item in writes]
    # Admitted in order while capacity is left, at their cost as if no item were replaced (corrected
    # once the transaction knows the old items); the rest come back as UnprocessedItems.
    estimates = [capacity.write_units(s or 0) for s in sizes]
    done = part.throughput.take_writes(estimates)
    admitted = writes[:done]
    indexes, exhausted = write_costs(part, mode)

    def apply(state: dict[bytes, Item | None], now: float) -> tuple[Any, list[Mutation]]:
        """Apply the admitted requests in order; one that changes a GSI out of capacity ends the prefix."""
        mutations = []
        used = capacity.Consumption()
        applied = 0
        for (key, key_attrs, item), size in zip(admitted, sizes[:done], strict=True):
            old = state[key]
            old_size = item_size(old) if old else None
            units = capacity.delete_units(old_size) if item is None else capacity.put_units(old_size, size or 0)
            try:
                one = item_write_cost(units, indexes, exhausted, key, old, item)
            except ProvisionedThroughputExceededException:
                if applied == 0:
                    raise
                break
            used.add(one)
            applied += 1
            if item is None:
                if old is not None:
                    mutations.append(Mutation(key, None, None, change_for(key_attrs, old, None)))
            else:
                mutations.append(Mutation(key, item, meta.expiry(item, now), change_for(key_attrs, old, item)))
        return (used, applied), mutations

    try:
        used, applied = await part.writer.submit([k for k, _, _ in admitted], apply)
    finally:
        part.throughput.charge_write(-sum(estimates[:done]))  # the estimates back: the real units follow
    part.throughput.charge(used)
    out: dict[str, Any] = {"UnprocessedItems": {name: share[applied:]} if applied < len(share) else {}}
    if (consumed := used.to_wire(name, mode)) is not None:  # type: ignore[arg-type]
        out["ConsumedCapacity"] = [consumed]
    return out
