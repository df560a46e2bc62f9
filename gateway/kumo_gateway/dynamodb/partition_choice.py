"""Which partition a request, item or key goes to; batch grouping and answer merging. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from kumo_gateway.dynamodb.json_protocol import dumps
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore import wire_json
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import nodes as n
from kumo_tablestore.expressions import parse_key_condition
from kumo_tablestore.keys import encode_value
from kumo_tablestore.write_requests import split_write_request

_INVALID_KEY = "The provided key element does not match the schema"
_THROTTLED = "#ProvisionedThroughputExceededException"

Answer = tuple[int, bytes]
#: One (table, partition) share of a batch: ``(table, its keys or write requests, the partition's
#: answer or None when the partition could not be reached)``.
ShareAnswer = tuple[str, list[Any], Answer | None]


def item_partition(route: TableRoute, item: Any) -> int:
    """Partition of an item (PutItem): its partition-key attribute must be present and typed as in the schema."""
    if not isinstance(item, dict):
        raise ValidationException("One or more parameter values were invalid: Item must be a map of attributes")
    value = item.get(route.partition_key)
    if value is None:
        raise ValidationException(
            f"One or more parameter values were invalid: Missing the key {route.partition_key} in the item"
        )
    actual = next(iter(value), None) if isinstance(value, dict) and len(value) == 1 else None
    if actual != route.partition_type:
        raise ValidationException(
            "One or more parameter values were invalid: Type mismatch for key "
            f"{route.partition_key} expected: {route.partition_type} actual: {actual}"
        )
    return route.slot_map.partition_of(encode_value(value))


def key_partition(route: TableRoute, key: Any) -> int:
    """Partition of a ``Key`` map (GetItem, UpdateItem, DeleteItem, batch keys, ExclusiveStartKey)."""
    if not isinstance(key, dict):
        raise ValidationException(_INVALID_KEY)
    value = key.get(route.partition_key)
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) != route.partition_type:
        raise ValidationException(_INVALID_KEY)
    return route.slot_map.partition_of(encode_value(value))


def value_partition(route: TableRoute, value: Any) -> int:
    """Partition of a partition-key value (from a Query's key condition)."""
    return route.slot_map.partition_of(encode_value(value))


def query_partition(route: TableRoute, text: Any, names: Any, values: Any) -> int | None:
    """Partition of a Query from its key condition's ``pk = :v`` alone, or None to ask the full check.

    The router only needs the partition-key value to route; the partition compiles and validates
    the whole request (and answers any error itself). None when the condition has no such term,
    the value is absent or not of the key's type: the caller then compiles the condition, which
    raises the client's ValidationException.
    """
    if not isinstance(text, str) or not isinstance(values, dict):
        return None
    if names is None:
        names_key: tuple[tuple[str, str], ...] = ()
    elif isinstance(names, dict) and all(isinstance(v, str) for v in names.values()):
        names_key = tuple(names.items())
    else:
        return None
    try:
        placeholder = _partition_placeholder(text, names_key, route.partition_key)
    except ValidationException:
        return None
    value = values.get(placeholder) if placeholder is not None else None
    if not isinstance(value, dict) or len(value) != 1 or route.partition_type not in value:
        return None
    try:
        return route.slot_map.partition_of(encode_value(value))
    except ValidationException:
        return None


@lru_cache(maxsize=1024)
def _partition_placeholder(text: str, names: tuple[tuple[str, str], ...], partition_key: str) -> str | None:
    """The ``:value`` compared with ``=`` to the partition key at the top of a key condition."""
    resolved = dict(names)
    terms = [parse_key_condition(text).root]
    if isinstance(terms[0], n.And):
        terms = [terms[0].left, terms[0].right]
    for term in terms:
        if not isinstance(term, n.Compare) or term.op != "=":
            continue
        for path, other in ((term.left, term.right), (term.right, term.left)):
            if isinstance(path, n.PathNode) and isinstance(other, n.ValueRef) and len(path.elements) == 1:
                name = path.elements[0]
                if isinstance(name, str) and resolved.get(name, name) == partition_key:
                    return other.name
    return None


def key_identity(route: TableRoute, key: dict[str, Any]) -> str:
    """A string equal for equal primary keys (for duplicate detection)."""
    return json.dumps([key.get(name) for name in route.key_names], sort_keys=True)


def key_of(route: TableRoute, item: dict[str, Any]) -> dict[str, Any] | None:
    """The primary key of an item, None when a key attribute is missing (projected away)."""
    key = {}
    for name in route.key_names:
        if name not in item:
            return None
        key[name] = item[name]
    return key


def owned_partitions(route: TableRoute) -> list[int]:
    """Partition indexes that own at least one slot, ascending."""
    return sorted({r.partition for r in route.slot_map.ranges})


def check_segments(request: dict[str, Any]) -> tuple[int, int] | None:
    """``(Segment, TotalSegments)`` of a parallel scan, None for a plain scan; DynamoDB's validation."""
    segment, total = request.get("Segment"), request.get("TotalSegments")
    if segment is None and total is None:
        return None
    if segment is None or total is None:
        missing = "Segment" if segment is None else "TotalSegments"
        present = "TotalSegments" if segment is None else "Segment"
        raise ValidationException(
            f"The {missing} parameter is required but was not present in the request when parameter {present} "
            "is present"
        )
    if not isinstance(total, int) or isinstance(total, bool) or not 1 <= total <= 1_000_000:
        raise ValidationException(
            f"1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint: "
            "Member must have value less than or equal to 1000000 and greater than or equal to 1"
        )
    if not isinstance(segment, int) or isinstance(segment, bool) or segment < 0:
        raise ValidationException(
            f"1 validation error detected: Value '{segment}' at 'segment' failed to satisfy constraint: "
            "Member must have value greater than or equal to 0"
        )
    if segment >= total:
        raise ValidationException(
            f"The Segment parameter is zero-based and must be less than parameter TotalSegments: "
            f"Segment: {segment} is not less than TotalSegments: {total}"
        )
    return segment, total


def add_capacity(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Sum two ``ConsumedCapacity`` entries of the same table (numbers added, nested maps merged)."""
    out = dict(total)
    for key, value in part.items():
        if isinstance(value, bool):
            out.setdefault(key, value)
        elif isinstance(value, int | float):
            out[key] = out.get(key, 0) + value
        elif isinstance(value, dict):
            out[key] = add_capacity(out.get(key) or {}, value)
        else:
            out.setdefault(key, value)
    return out


def merge_capacity(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ConsumedCapacity`` entries summed per table, in first-seen order."""
    by_table: dict[str, dict[str, Any]] = {}
    for entry in entries:
        name = entry.get("TableName", "")
        by_table[name] = add_capacity(by_table.get(name, {}), entry)
    return list(by_table.values())


def capacity_entries(response: dict[str, Any]) -> list[dict[str, Any]]:
    value = response.get("ConsumedCapacity")
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _require_request_items(request_items: Any) -> None:
    """``RequestItems`` must be a non-empty map (BatchGetItem and BatchWriteItem)."""
    if not isinstance(request_items, dict) or not request_items:
        raise ValidationException(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )


def group_batch_get(request_items: Any, routes: dict[str, TableRoute]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """BatchGetItem keys grouped by ``(table, partition)``; validates count (≤ 100) and duplicates."""
    _require_request_items(request_items)
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    total = 0
    for table, spec in request_items.items():
        keys = spec.get("Keys") if isinstance(spec, dict) else None
        if not isinstance(keys, list) or not keys:
            raise ValidationException(
                "1 validation error detected: Value null at 'requestItems.keys' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            )
        total += len(keys)
        if total > 100:
            raise ValidationException("Too many items requested for the BatchGetItem call")
        route = routes[table]
        seen: set[str] = set()
        for key in keys:
            partition = key_partition(route, key)
            ident = key_identity(route, key)
            if ident in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(ident)
            groups.setdefault((table, partition), []).append(key)
    return groups


def group_batch_write(request_items: Any, routes: dict[str, TableRoute]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """BatchWriteItem requests grouped by ``(table, partition)``; validates count (≤ 25) and duplicate keys."""
    _require_request_items(request_items)
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    total = 0
    for table, requests in request_items.items():
        if not isinstance(requests, list) or not requests:
            raise ValidationException(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                "Map value must satisfy constraint: [Member must have length greater than or equal to 1]"
            )
        total += len(requests)
        if total > 25:
            raise ValidationException(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must "
                "satisfy constraint: [Member must have length less than or equal to 25, "
                "Member must have length greater than or equal to 1]"
            )
        route = routes[table]
        seen: set[str] = set()
        for request in requests:
            kind, write = split_write_request(request)
            if kind == "PutRequest":
                item = write.get("Item")
                partition = item_partition(route, item)
                key = {name: item.get(name) for name in route.key_names}
            else:
                key = write.get("Key")
                partition = key_partition(route, key)
            ident = key_identity(route, key)
            if ident in seen:
                raise ValidationException("Provided list of item keys contains duplicates")
            seen.add(ident)
            groups.setdefault((table, partition), []).append(request)
    return groups


def is_throttled(answer: Answer) -> bool:
    """Whether a partition refused a whole batch share with ``ProvisionedThroughputExceededException``."""
    status, raw = answer
    if status != 400 or _THROTTLED.encode() not in raw:
        return False
    try:
        body = wire_json.loads(raw)
    except ValueError:
        return False
    return isinstance(body, dict) and str(body.get("__type", "")).endswith(_THROTTLED)


def _refused(answers: list[ShareAnswer]) -> Answer | None:
    """The error the whole batch answers: the first share's error that is not throttling, else the
    throttling error when every share was throttled (DynamoDB fails only when nothing could be processed).
    Unreachable and throttled shares otherwise come back unprocessed."""
    throttled: Answer | None = None
    every_share = bool(answers)
    for _, _, answer in answers:
        if answer is None or answer[0] == 200:
            every_share = False
        elif is_throttled(answer):
            throttled = throttled or answer
        else:
            return answer
    return throttled if every_share else None


def merge_batch_get(request: dict[str, Any], answers: list[ShareAnswer]) -> Answer:
    """BatchGetItem's answer from its shares' answers (see :func:`_refused` for errors)."""
    if (refused := _refused(answers)) is not None:
        return refused
    request_items = request["RequestItems"]
    responses: dict[str, list[Any]] = {t: [] for t in request_items}
    unprocessed: dict[str, dict[str, Any]] = {}
    capacity: list[dict[str, Any]] = []
    for table, keys, answer in answers:
        if answer is None or answer[0] != 200:
            _unprocessed_keys(unprocessed, request_items[table], table, keys)
            continue
        part = wire_json.loads(answer[1])
        for name, found in (part.get("Responses") or {}).items():
            responses.setdefault(name, []).extend(found)
        for name, spec in (part.get("UnprocessedKeys") or {}).items():
            _unprocessed_keys(unprocessed, spec, name, spec.get("Keys", []))
        capacity.extend(capacity_entries(part))
    out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": unprocessed}
    if request.get("ReturnConsumedCapacity") not in (None, "NONE"):
        out["ConsumedCapacity"] = merge_capacity(capacity)
    return 200, dumps(out)


def _unprocessed_keys(out: dict[str, dict[str, Any]], spec: dict[str, Any], table: str, keys: list) -> None:
    """Add ``keys`` to ``UnprocessedKeys`` with the table's other settings (projection, consistency)."""
    entry = out.setdefault(table, {**{k: v for k, v in spec.items() if k != "Keys"}, "Keys": []})
    entry["Keys"].extend(keys)


def merge_batch_write(request: dict[str, Any], answers: list[ShareAnswer]) -> Answer:
    """BatchWriteItem's answer from its shares' answers (see :func:`_refused` for errors)."""
    if (refused := _refused(answers)) is not None:
        return refused
    unprocessed: dict[str, list[Any]] = {}
    metrics: dict[str, list[Any]] = {}
    capacity: list[dict[str, Any]] = []
    for table, requests, answer in answers:
        if answer is None or answer[0] != 200:
            unprocessed.setdefault(table, []).extend(requests)
            continue
        part = wire_json.loads(answer[1])
        for name, left in (part.get("UnprocessedItems") or {}).items():
            unprocessed.setdefault(name, []).extend(left)
        for name, m in (part.get("ItemCollectionMetrics") or {}).items():
            metrics.setdefault(name, []).extend(m)
        capacity.extend(capacity_entries(part))
    out: dict[str, Any] = {"UnprocessedItems": unprocessed}
    if request.get("ReturnConsumedCapacity") not in (None, "NONE"):
        out["ConsumedCapacity"] = merge_capacity(capacity)
    if metrics:
        out["ItemCollectionMetrics"] = metrics
    return 200, dumps(out)
