"""Query and Scan with ``IndexName`` on one partition: key ranges over index entries, pages, projections.

The same rules as the table's reads (:mod:`kumo_tablestore.server.operations.ranges`): 1 MB pages
counted before the filter, ``Limit`` counts items read, ``LastEvaluatedKey`` only when more follows.
An index ``LastEvaluatedKey`` holds the table's key and the index's key, as in DynamoDB.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from kumo_tablestore import capacity, keys, wire_json
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import analyze_key_condition, evaluate, project
from kumo_tablestore.indexes.definitions import IndexDef, index_pk, require_index
from kumo_tablestore.partitioning import segment_of
from kumo_tablestore.server import requests as rq
from kumo_tablestore.values import item_size, validate_item

PAGE_BYTES = 1024 * 1024
SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")


def _select(body: dict[str, Any], index: IndexDef, has_projection: bool) -> str:
    select = rq.enum(body, "Select", SELECTS, "SPECIFIC_ATTRIBUTES" if has_projection else "ALL_PROJECTED_ATTRIBUTES")
    if select == "SPECIFIC_ATTRIBUTES" and not has_projection:
        raise ValidationException("Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression or AttributesToGet")
    if has_projection and select == "COUNT":
        raise ValidationException("Cannot specify the ProjectionExpression when choosing to get only the Count")
    if has_projection and select in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"):
        raise ValidationException(f"Cannot specify the ProjectionExpression when choosing to get {select}")
    if select == "ALL_ATTRIBUTES" and index.kind == "GSI" and index.projection != "ALL":
        raise ValidationException(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global "
            f"secondary index {index.name} because its projection type is not ALL"
        )
    return select


def _start_key(body: dict[str, Any], index: IndexDef, base_key: Any) -> bytes | None:
    start = body.get("ExclusiveStartKey")
    if start is None:
        return None
    try:
        item = validate_item(start)
        if set(item) != set(index.key_names):
            raise ValidationException("The provided key element does not match the schema")
        entry = index.entry_key(item, base_key(item))
    except ValidationException as exc:
        raise ValidationException(f"The provided starting key is invalid: {exc.message}") from None
    if entry is None:
        raise ValidationException(
            "The provided starting key is invalid: The provided key element does not match the schema"
        )
    return entry


def _bounds(index: IndexDef, kc: Any) -> tuple[bytes, bytes | None]:
    """``[lo, hi)`` of the entries a key condition selects."""
    prefix = index.prefix + keys.escape(keys.encode_value(kc.partition_value))
    hi = keys.prefix_successor(prefix)
    sort = kc.sort
    if sort is None:
        return prefix, hi
    enc = [keys.escape(keys.encode_value(v)) for v in sort.values]
    after = [keys.prefix_successor(prefix + e) for e in enc]
    if sort.op == "=":
        return prefix + enc[0], after[0]
    if sort.op == "<":
        return prefix, prefix + enc[0]
    if sort.op == "<=":
        return prefix, after[0]
    if sort.op == ">":
        return after[0] or hi, hi
    if sort.op == ">=":
        return prefix + enc[0], hi
    if sort.op == "BETWEEN":
        return prefix + enc[0], after[1]
    body = enc[0][:-2]  # begins_with: the escaped prefix without its terminator
    return prefix + body, keys.prefix_successor(prefix + body)


class _Page:
    def __init__(self, part: Any, index: IndexDef, body: dict[str, Any], kinds: tuple[str, ...]) -> None:
        self.part = part
        self.index = index
        self.meta = part.require_meta()
        self.limit = rq.limit(body)
        self.exprs = rq.compile_expressions(body, kinds)
        self.select = _select(body, index, self.exprs.projection is not None)
        self.consistent = rq.boolean(body, "ConsistentRead")
        if self.consistent and index.kind == "GSI":
            raise ValidationException("Consistent reads are not supported on global secondary indexes")
        self.mode = rq.capacity_mode(body)
        self.start = _start_key(body, index, self._base_key)
        # An LSI answers non-projected attributes from the table (same partition), as DynamoDB does.
        self.fetch = (
            index.kind == "LSI"
            and index.projection != "ALL"
            and (self.select == "ALL_ATTRIBUTES" or self.exprs.projection is not None)
        )

    def _base_key(self, item: dict[str, Any]) -> bytes:
        return keys.encode_key({k: item[k] for k in self.meta.key_names if k in item}, self.meta.pk, self.meta.sk)

    def run(self, rows: Iterator[tuple[bytes, bytes]]) -> dict[str, Any]:
        items: list[Any] = []
        scanned = size = matched = 0
        last: Any = None
        done = True
        for _, raw in rows:
            if (self.limit is not None and scanned >= self.limit) or size >= PAGE_BYTES:
                done = False
                break
            item = wire_json.loads(raw)
            scanned += 1
            size += item_size(item)
            last = item
            if self.fetch:
                item = self.part.engine.get(self._base_key(item)) or item
            if self.exprs.filter is not None and not evaluate(self.exprs.filter, item):
                continue
            matched += 1
            if self.select != "COUNT":
                items.append(project(item, self.exprs.projection) if self.exprs.projection is not None else item)
        out: dict[str, Any] = {"Count": matched, "ScannedCount": scanned}
        if self.select != "COUNT":
            out = {"Items": items, **out}
        if not done and last is not None:
            out["LastEvaluatedKey"] = self.index.key_of(last)
        units = capacity.query_units([size], self.consistent)
        self.part.throughput.charge_index_read(self.index.name, units)
        used = capacity.Consumption()
        used.add_index(self.index.name, read=units, local=self.index.kind == "LSI")
        consumed = used.to_wire(self.meta.name, self.mode)  # type: ignore[arg-type]
        if consumed is not None:
            out["ConsumedCapacity"] = consumed
        return out


async def query(part: Any, body: dict[str, Any]) -> dict[str, Any]:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    index = require_index(part.indexes.definitions(), body.get("IndexName"))
    page = _Page(part, index, body, rq.QUERY_EXPRESSIONS)
    kc = analyze_key_condition(page.exprs.key_condition, index.schema)
    if page.exprs.filter is not None:
        for path in rq.condition_paths(page.exprs.filter):
            if path[0] in index.key_names:
                raise ValidationException(
                    f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {path[0]}"
                )
    meta.check_owner(keys.encode_value(kc.partition_value))
    lo, hi = _bounds(index, kc)
    if page.start is not None and not page.start.startswith(
        index.prefix + keys.escape(keys.encode_value(kc.partition_value))
    ):
        raise ValidationException("The provided starting key is invalid: it is not in the queried partition key")
    forward = rq.boolean(body, "ScanIndexForward", True)
    part.throughput.admit_index_read(index.name)
    if page.limit is not None and page.limit <= rq.INLINE_LIMIT:  # a few entries: a thread hop costs more
        return page.run(part.indexes.rows(lo, hi, forward, page.start, chunk=page.limit + 1))
    return await asyncio.to_thread(page.run, part.indexes.rows(lo, hi, forward, page.start))


async def scan(part: Any, body: dict[str, Any], segment: tuple[int, int] | None) -> dict[str, Any]:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    index = require_index(part.indexes.definitions(), body.get("IndexName"))
    page = _Page(part, index, body, ("FilterExpression", "ProjectionExpression"))
    part.throughput.admit_index_read(index.name)
    lo = index.prefix
    hi = keys.prefix_successor(lo)

    def rows() -> Iterator[tuple[bytes, bytes]]:
        for row in part.indexes.rows(lo, hi, True, page.start):
            if segment is not None and segment_of(index_pk(row[0], index), segment[1]) != segment[0]:
                continue
            yield row

    return await asyncio.to_thread(page.run, rows())
