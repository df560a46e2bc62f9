"""Operations that touch several partitions: Scan (paged across partitions), BatchGetItem, BatchWriteItem.

Scan visits partitions in order, continuing from ``ExclusiveStartKey``'s partition. A page
continues into the next partition only while its budget (``Limit`` scanned items, 1 MB read,
estimated from the consumed read capacity) lasts; a page that ends at a partition boundary gets
the last returned item's key as ``LastEvaluatedKey``, so every item comes exactly once across pages.
Batch operations go to every partition concurrently and their answers are merged
(``routing.merge_batch_get``/``merge_batch_write``): a share whose partition is unreachable or
throttled comes back unprocessed; only when every share was throttled does the call fail with
``ProvisionedThroughputExceededException``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kumo_gateway.dynamodb.json_protocol import dumps
from kumo_gateway.dynamodb.partition_choice import (
    Answer,
    ShareAnswer,
    capacity_entries,
    check_segments,
    group_batch_get,
    group_batch_write,
    key_of,
    key_partition,
    merge_batch_get,
    merge_batch_write,
    merge_capacity,
    owned_partitions,
)
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore import protocol, wire_json
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable

PAGE_BYTES = 1024 * 1024
_UNIT_BYTES = 4096
_SCAN_ONLY = ("Segment", "TotalSegments", "ExclusiveStartKey", "Limit")


async def scan(client: PartitionClient, route: TableRoute, request: dict[str, Any]) -> Answer:
    segments = check_segments(request)
    limit = request.get("Limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1"
        )
    partitions = route.slot_map.partitions_for_segment(*segments) if segments is not None else owned_partitions(route)
    start_key = request.get("ExclusiveStartKey")
    first = 0
    if start_key is not None:
        partition = key_partition(route, start_key)
        if partition not in partitions:
            raise ValidationException("The provided starting key is invalid: it is outside this scan segment")
        first = partitions.index(partition)
    asked_capacity = request.get("ReturnConsumedCapacity", "NONE")
    base = {k: v for k, v in request.items() if k not in _SCAN_ONLY}
    if asked_capacity in (None, "NONE"):
        base["ReturnConsumedCapacity"] = "TOTAL"  # to estimate how much of the 1 MB page is used
    if segments is not None:
        base[protocol.KUMO_SEGMENT], base[protocol.KUMO_TOTAL_SEGMENTS] = segments
    unit_bytes = _UNIT_BYTES if request.get("ConsistentRead") else 2 * _UNIT_BYTES

    items: list[dict[str, Any]] = []
    count = scanned = 0
    capacity: list[dict[str, Any]] = []
    last_key: dict[str, Any] | None = None
    todo = partitions[first:]
    for i, partition in enumerate(todo):
        body = dict(base)
        if i == 0 and start_key is not None:
            body["ExclusiveStartKey"] = start_key
        if limit is not None:
            body["Limit"] = max(limit - scanned, 1)
        status, raw = await client.op(route.endpoints[partition], "Scan", body)
        if status != 200:
            return status, raw
        part = wire_json.loads(raw)
        items.extend(part.get("Items") or ())
        count += part.get("Count", 0)
        scanned += part.get("ScannedCount", 0)
        capacity.extend(capacity_entries(part))
        if part.get("LastEvaluatedKey"):
            last_key = part["LastEvaluatedKey"]
            break
        if i == len(todo) - 1:
            break
        used = sum(c.get("CapacityUnits", 0) for c in capacity) * unit_bytes
        if used >= PAGE_BYTES or (limit is not None and scanned >= limit):
            # Budget spent at a partition boundary: resume after the last returned item (its partition
            # is exhausted, so the next page moves on). Without one, go on (the page runs over budget).
            last_key = key_of(route, items[-1]) if items else None
            if last_key is not None:
                break
    out: dict[str, Any] = {"Count": count, "ScannedCount": scanned}
    if request.get("Select") != "COUNT":
        out["Items"] = items
    if last_key is not None:
        out["LastEvaluatedKey"] = last_key
    if asked_capacity not in (None, "NONE") and capacity:
        (out["ConsumedCapacity"],) = merge_capacity(capacity)
    return 200, dumps(out)


async def batch_get(client: PartitionClient, routes: dict[str, TableRoute], request: dict[str, Any]) -> Answer:
    request_items = request.get("RequestItems")
    groups = group_batch_get(request_items, routes)
    extra = {k: v for k, v in request.items() if k != "RequestItems"}

    async def send(table: str, partition: int, keys: list[dict[str, Any]]) -> ShareAnswer:
        spec = {**request_items[table], "Keys": keys}
        body = {**extra, "RequestItems": {table: spec}}
        try:
            return table, keys, await client.op(routes[table].endpoints[partition], "BatchGetItem", body)
        except PartitionUnavailable:
            return table, keys, None

    answers = await asyncio.gather(*(send(t, p, keys) for (t, p), keys in groups.items()))
    return merge_batch_get(request, list(answers))


async def batch_write(client: PartitionClient, routes: dict[str, TableRoute], request: dict[str, Any]) -> Answer:
    groups = group_batch_write(request.get("RequestItems"), routes)
    extra = {k: v for k, v in request.items() if k != "RequestItems"}

    async def send(table: str, partition: int, requests: list[dict[str, Any]]) -> ShareAnswer:
        body = {**extra, "RequestItems": {table: requests}}
        try:
            return table, requests, await client.op(routes[table].endpoints[partition], "BatchWriteItem", body)
        except PartitionUnavailable:
            return table, requests, None

    answers = await asyncio.gather(*(send(t, p, reqs) for (t, p), reqs in groups.items()))
    return merge_batch_write(request, list(answers))
