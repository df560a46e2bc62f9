"""Query and Scan over one partition: key ranges, 1 MB pages, Limit, filters, projections, segments.

The page limit counts the size of every item read, before the filter, as DynamoDB does; ``Limit``
counts items evaluated (read), not items returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kumo_tablestore import capacity, keys
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.expressions import KeyCondition, analyze_key_condition, evaluate, project
from kumo_tablestore.indexes import reads as index_reads
from kumo_tablestore.partitioning import segment_of
from kumo_tablestore.protocol import KUMO_SEGMENT, KUMO_TOTAL_SEGMENTS
from kumo_tablestore.server import json_body
from kumo_tablestore.server import requests as rq
from kumo_tablestore.server.partition import Partition
from kumo_tablestore.server.table_meta import TableMeta
from kumo_tablestore.storage import load_item
from kumo_tablestore.values import item_size

PAGE_BYTES = 1024 * 1024
MAX_TOTAL_SEGMENTS = 1_000_000
INLINE_LIMIT = rq.INLINE_LIMIT
SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")


@dataclass
class _Plan:
    meta: TableMeta
    limit: int | None
    select: str
    exprs: rq.Expressions
    consistent: bool
    mode: str
    start: bytes | None
    segment: tuple[int, int] | None = None


def _select(body: dict[str, Any], has_projection: bool) -> str:
    select = rq.enum(body, "Select", SELECTS, "SPECIFIC_ATTRIBUTES" if has_projection else "ALL_ATTRIBUTES")
    if select == "ALL_PROJECTED_ATTRIBUTES":
        raise ValidationException("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
    if select == "SPECIFIC_ATTRIBUTES" and not has_projection:
        raise ValidationException("Select type SPECIFIC_ATTRIBUTES requires a ProjectionExpression or AttributesToGet")
    if has_projection and select == "COUNT":
        raise ValidationException("Cannot specify the ProjectionExpression when choosing to get only the Count")
    if has_projection and select == "ALL_ATTRIBUTES":
        raise ValidationException("Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES")
    return select


def _plan(part: Partition, body: dict[str, Any], kinds: tuple[str, ...]) -> _Plan:
    meta = part.require_meta()
    rq.refuse_legacy(body)
    rq.check_table(body, meta)
    if body.get("IndexName") is not None:
        raise ValidationException(f"The table does not have the specified index: {body['IndexName']}")
    limit = rq.limit(body)
    select = _select(body, body.get("ProjectionExpression") is not None)
    consistent = rq.boolean(body, "ConsistentRead")
    mode = rq.capacity_mode(body)
    exprs = rq.compile_expressions(body, kinds)
    start = None
    if body.get("ExclusiveStartKey") is not None:
        try:
            start, _ = meta.encode_request_key(body["ExclusiveStartKey"], check_owner=False)
        except ValidationException as exc:
            raise ValidationException(f"The provided starting key is invalid: {exc.message}") from None
    return _Plan(meta, limit, select, exprs, consistent, mode, start)


def _range_args(meta: TableMeta, kc: KeyCondition) -> dict[str, Any]:
    """Engine ``query`` arguments for an analysed key condition (of a partition key this partition owns)."""
    pk_enc = keys.encode_value(kc.partition_value)
    meta.check_owner(pk_enc)
    args: dict[str, Any] = {"pk_prefix": keys.partition_prefix(pk_enc)}
    sort = kc.sort
    if sort is None:
        return args
    enc = [keys.encode_value(v) for v in sort.values]
    if sort.op == "=":
        args.update(lower=enc[0], upper=enc[0])
    elif sort.op in ("<", "<="):
        args.update(upper=enc[0], upper_inclusive=sort.op == "<=")
    elif sort.op in (">", ">="):
        args.update(lower=enc[0], lower_inclusive=sort.op == ">=")
    elif sort.op == "BETWEEN":
        args.update(lower=enc[0], upper=enc[1])
    else:  # begins_with
        successor = keys.prefix_successor(enc[0])
        args.update(lower=enc[0])
        if successor is not None:
            args.update(upper=successor, upper_inclusive=False)
    return args


def _execute_raw(plan: _Plan, rows: Iterator[tuple[bytes, bytes, int | None]]) -> dict[str, Any]:
    """:func:`_execute` for a page of whole items with no filter: their stored JSON is kept as is.

    ``Items`` holds the items' JSON bytes, for :func:`json_body.splice`.
    """
    raws: list[bytes] = []
    size = 0
    last: bytes | None = None
    done = True
    limit = plan.limit
    for key, raw, item_bytes in rows:
        if (limit is not None and len(raws) >= limit) or size >= PAGE_BYTES:
            done = False
            break
        raws.append(raw)
        size += item_size(load_item(raw)) if item_bytes is None else item_bytes
        last = key
    out: dict[str, Any] = {"Items": raws, "Count": len(raws), "ScannedCount": len(raws)}
    if not done and last is not None:
        out["LastEvaluatedKey"] = plan.meta.decode_key(last)
    out["_units"] = capacity.query_units([size], plan.consistent)
    return out


def _whole_items(plan: _Plan) -> bool:
    """Whether the page returns every item read, unchanged (so the stored JSON can be spliced in)."""
    return plan.exprs.filter is None and plan.exprs.projection is None and plan.select != "COUNT"


def _execute(plan: _Plan, rows: Iterator[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Read one page from ``rows`` (runs in a worker thread)."""
    meta = plan.meta
    items: list[Any] = []
    scanned = size = matched = 0
    last: bytes | None = None
    done = True
    for key, raw in rows:
        if (plan.limit is not None and scanned >= plan.limit) or size >= PAGE_BYTES:
            done = False
            break
        item = load_item(raw)
        scanned += 1
        size += item_size(item)
        last = key
        if plan.exprs.filter is not None and not evaluate(plan.exprs.filter, item):
            continue
        matched += 1
        if plan.select != "COUNT":
            items.append(project(item, plan.exprs.projection) if plan.exprs.projection is not None else item)
    out: dict[str, Any] = {"Count": matched, "ScannedCount": scanned}
    if plan.select != "COUNT":
        out = {"Items": items, **out}
    if not done and last is not None:
        out["LastEvaluatedKey"] = meta.decode_key(last)
    units = capacity.query_units([size], plan.consistent)
    out["_units"] = units
    return out


def _finish(part: Partition, plan: _Plan, out: dict[str, Any]) -> dict[str, Any] | bytes:
    """Charge the page's units and add ``ConsumedCapacity``; spliced (bytes) for raw items."""
    units = out.pop("_units")
    part.throughput.charge_read(units)
    consumed = capacity.Consumption(table_read=units).to_wire(plan.meta.name, plan.mode)  # type: ignore[arg-type]
    if consumed is not None:
        out["ConsumedCapacity"] = consumed
    if _whole_items(plan):
        return json_body.splice("Items", json_body.json_array(out.pop("Items")), out)
    return out


async def query(part: Partition, body: dict[str, Any]) -> dict[str, Any] | bytes:
    if body.get("KeyConditionExpression") is None and "KeyConditions" not in body:
        raise ValidationException(
            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."
        )
    if body.get("IndexName") is not None:
        return await index_reads.query(part, body)
    plan = _plan(part, body, rq.QUERY_EXPRESSIONS)
    kc = analyze_key_condition(plan.exprs.key_condition, plan.meta.schema)
    if plan.exprs.filter is not None:
        for path in rq.condition_paths(plan.exprs.filter):
            if path[0] in plan.meta.key_names:
                raise ValidationException(
                    f"Filter Expression can only contain non-primary key attributes: Primary key attribute: {path[0]}"
                )
    args = _range_args(plan.meta, kc)
    if plan.start is not None and not plan.start.startswith(args["pk_prefix"]):
        raise ValidationException("The provided starting key is invalid: it is not in the queried partition key")
    forward = rq.boolean(body, "ScanIndexForward", True)
    part.throughput.admit_read()
    engine = part.engine

    def run() -> dict[str, Any]:
        if _whole_items(plan):
            return _execute_raw(plan, engine.query(**args, forward=forward, exclusive_start=plan.start, sized=True))
        return _execute(plan, engine.query(**args, forward=forward, exclusive_start=plan.start))

    if plan.limit is not None and plan.limit <= INLINE_LIMIT:  # a few point reads: a thread hop costs more
        return _finish(part, plan, run())
    return _finish(part, plan, await asyncio.to_thread(run))


def _segment(body: dict[str, Any], router: dict[str, Any]) -> tuple[int, int] | None:
    """The segment to scan: the router's ``Kumo*`` fields, else the client's own Segment/TotalSegments."""
    if KUMO_TOTAL_SEGMENTS in router or KUMO_SEGMENT in router:
        seg, total = router.get(KUMO_SEGMENT), router.get(KUMO_TOTAL_SEGMENTS)
    elif "Segment" in body or "TotalSegments" in body:
        seg, total = body.get("Segment"), body.get("TotalSegments")
        if seg is None or total is None:
            missing = "Segment" if seg is None else "TotalSegments"
            present = "TotalSegments" if seg is None else "Segment"
            raise ValidationException(
                f"The {present} parameter is required but was not present in the request "
                f"when parameter {missing} is present"
            )
    else:
        return None
    if not isinstance(total, int) or isinstance(total, bool) or not 1 <= total <= MAX_TOTAL_SEGMENTS:
        raise rq.constraint(total, "totalSegments", "Member must have value between 1 and 1000000")
    if not isinstance(seg, int) or isinstance(seg, bool) or not 0 <= seg < total:
        raise ValidationException(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: "
            f"Segment: {seg} is not less than TotalSegments: {total}"
        )
    return seg, total


async def scan(part: Partition, body: dict[str, Any], router: dict[str, Any] | None = None) -> dict[str, Any] | bytes:
    segment = _segment(body, router or {})
    if body.get("IndexName") is not None:
        return await index_reads.scan(part, body, segment)
    plan = _plan(part, body, ("FilterExpression", "ProjectionExpression"))
    part.throughput.admit_read()
    engine = part.engine

    whole = _whole_items(plan)

    def rows() -> Iterator[Any]:
        for row in engine.scan(plan.start, sized=whole):
            if segment is not None:
                pk_enc, _ = keys.split_table_key(row[0])
                if segment_of(pk_enc, segment[1]) != segment[0]:
                    continue
            yield row

    execute = _execute_raw if whole else _execute
    return _finish(part, plan, await asyncio.to_thread(execute, plan, rows()))
