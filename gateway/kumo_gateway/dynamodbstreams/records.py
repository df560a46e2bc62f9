"""Change-log records as DynamoDB Streams records (pure).

One shape, two spellings: the Streams API's ``GetRecords`` record, and the record of Lambda's DynamoDB
stream event (the same fields plus ``eventSourceARN``; ``userIdentity`` in lower camel case). The
images a record carries follow the stream's view type.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from kumo_gateway.dynamodbstreams import names
from kumo_tablestore.values import item_size

EVENT_VERSION = "1.1"
EVENT_SOURCE = "aws:dynamodb"
_NEW = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
_OLD = ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
TTL_PRINCIPAL = "dynamodb.amazonaws.com"


def event_id(shard: str, seq: int) -> str:
    """A stable, unique id for the record ``seq`` of ``shard`` (32 hex digits, as DynamoDB's)."""
    return hashlib.md5(f"{shard}/{seq}".encode(), usedforsecurity=False).hexdigest()


def in_window(change: dict[str, Any], window: tuple[float, float | None]) -> bool:
    """Was ``change`` committed while the stream was enabled?"""
    start, end = window
    ts = change.get("timestamp") or 0.0
    return ts >= start and (end is None or ts < end)


def stream_record(
    change: dict[str, Any], *, shard: str, view_type: str, region: str, lambda_event: bool = False
) -> dict[str, Any]:
    """A partition change-log entry (``stream_reader.read``'s shape) as a stream record."""
    data: dict[str, Any] = {
        "ApproximateCreationDateTime": int(change.get("timestamp") or 0),
        "Keys": change["keys"],
    }
    if view_type in _NEW and change.get("new_image") is not None:
        data["NewImage"] = change["new_image"]
    if view_type in _OLD and change.get("old_image") is not None:
        data["OldImage"] = change["old_image"]
    data["SequenceNumber"] = names.sequence_number(change["seq"])
    data["SizeBytes"] = sum(item_size(data[k]) for k in ("Keys", "NewImage", "OldImage") if k in data)
    data["StreamViewType"] = view_type
    out: dict[str, Any] = {
        "eventID": event_id(shard, change["seq"]),
        "eventName": change["event_name"],
        "eventVersion": EVENT_VERSION,
        "eventSource": EVENT_SOURCE,
        "awsRegion": region,
        "dynamodb": data,
    }
    if change.get("ttl_delete"):
        out["userIdentity"] = (
            {"type": "Service", "principalId": TTL_PRINCIPAL}
            if lambda_event
            else {"Type": "Service", "PrincipalId": TTL_PRINCIPAL}
        )
    return out


def lambda_event(
    changes: Iterable[dict[str, Any]], *, shard: str, view_type: str, region: str, stream_arn: str
) -> dict[str, Any]:
    """Lambda's DynamoDB stream event for a batch of change-log entries."""
    records = []
    for change in changes:
        record = stream_record(change, shard=shard, view_type=view_type, region=region, lambda_event=True)
        record["eventSourceARN"] = stream_arn
        records.append(record)
    return {"Records": records}
