"""Stream ARNs, labels, shard ids and sequence numbers (pure).

A stream is ``arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>``, its label the ISO 8601
time it was enabled (millisecond precision, as DynamoDB's). Kumo gives a stream one shard per
partition of the table (a key lives in one partition, so order per key is order per shard):
``shardId-<table creation, ms, 20 digits>-<partition index, 8 hex digits>``. A sequence number is the
partition's change-log sequence number, as a string of at least 21 digits (the API's minimum length).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

from kumo_tablestore.errors import ValidationException

_ARN = re.compile(r"arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table/([a-zA-Z0-9_.-]{3,255})/stream/(\S+)")
_SHARD = re.compile(r"shardId-(\d{20})-([0-9a-f]{8})")
SEQUENCE_DIGITS = 21


def label_of(epoch_s: float) -> str:
    """The stream label for a stream enabled at ``epoch_s``."""
    stamp = datetime.fromtimestamp(epoch_s, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


def label_time(label: str) -> float:
    """When a stream with this label was enabled (epoch seconds)."""
    return datetime.strptime(label, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


def stream_arn(table_arn: str, label: str) -> str:
    return f"{table_arn}/stream/{label}"


class StreamName(NamedTuple):
    table: str
    label: str


def parse_stream_arn(arn: object, field: str = "streamArn") -> StreamName:
    """``(table, label)`` of a stream ARN; ``ValidationException`` when it is not one."""
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise ValidationException(f"Invalid StreamArn: {arn!r} at '{field}' is not a DynamoDB stream ARN")
    return StreamName(match.group(3), match.group(4))


def shard_id(table_created_s: float, partition: int) -> str:
    return f"shardId-{int(table_created_s * 1000):020d}-{partition:08x}"


def parse_shard_id(value: object) -> tuple[int, int] | None:
    """``(table creation ms, partition)`` of a Kumo shard id, None when it is not one."""
    match = _SHARD.fullmatch(value) if isinstance(value, str) else None
    return None if match is None else (int(match.group(1)), int(match.group(2), 16))


def sequence_number(seq: int) -> str:
    return f"{seq:0{SEQUENCE_DIGITS}d}"


def parse_sequence_number(value: object) -> int:
    if not isinstance(value, str) or not value.isdigit() or not SEQUENCE_DIGITS <= len(value) <= 40:
        raise ValidationException(f"Invalid SequenceNumber: {value!r}")
    return int(value)
