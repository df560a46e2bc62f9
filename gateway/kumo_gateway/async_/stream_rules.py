"""Pure rules of the table-stream event source (Lambda's DynamoDB event source mapping).

- A Function's ``events: [{stream: {...}}]`` entries become :class:`StreamMapping` s.
- A batch's outcome: a function error fails the whole batch; ``batchItemFailures`` names records by
  ``SequenceNumber`` and the batch is retried from the *lowest* failed one (records before it succeeded);
  an identifier that names no record of the batch (or a malformed list) fails the whole batch, as on AWS.
- After a failure: with ``bisectBatchOnFunctionError`` a batch of two or more is split in halves, retried
  separately (a bisection is not a retry); otherwise the batch is retried until ``maximumRetryAttempts``
  (-1: forever), then recorded to ``onFailure`` (Lambda's stream failure record) and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kumo.models import Function
from kumo_gateway.async_.records import iso
from kumo_gateway.dynamodbstreams import names

#: Most bytes of change-log entries in one invocation (Lambda's synchronous payload limit is 6 MB; the
#: event's own fields add to the entries' JSON).
MAX_BATCH_BYTES = 5 * 1024 * 1024
#: Pause before retrying a failed batch (Lambda retries stream batches at once, with back-off on
#: repeated errors); grows to the second value.
RETRY_PAUSE_S = (0.05, 2.0)


@dataclass(frozen=True)
class StreamMapping:
    function: str
    table: str
    batch_size: int
    starting_position: str
    max_retries: int
    bisect: bool
    on_failure_queue: str | None
    timeout_s: float


def stream_mappings(functions: Iterable[Function]) -> set[StreamMapping]:
    """The enabled stream mappings of ``functions``."""
    found = set()
    for function in functions:
        for source in function.spec.events:
            stream = source.stream
            if stream is not None and source.enabled:
                found.add(
                    StreamMapping(
                        function.metadata.name,
                        stream.table,
                        stream.batch_size,
                        stream.starting_position,
                        stream.maximum_retry_attempts,
                        stream.bisect_batch_on_function_error,
                        stream.on_failure.queue if stream.on_failure else None,
                        function.spec.timeout,
                    )
                )
    return found


def fit_payload(changes: Sequence[dict[str, Any]], limit_bytes: int = MAX_BATCH_BYTES) -> int:
    """How many of ``changes`` (at least one) fit in one invocation's payload."""
    total = 0
    for i, change in enumerate(changes):
        total += len(json.dumps(change, separators=(",", ":")))
        if total > limit_bytes and i > 0:
            return i
    return len(changes)


def first_failure(payload: bytes, function_error: str | None, sequence_numbers: Sequence[str]) -> int | None:
    """Index of the first record to retry (0: the whole batch), None when the batch succeeded."""
    if function_error:
        return 0
    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        return None
    if not isinstance(answer, dict) or answer.get("batchItemFailures") is None:
        return None
    failures = answer["batchItemFailures"]
    if not isinstance(failures, list):
        return 0
    if not failures:
        return None
    position = {seq: i for i, seq in enumerate(sequence_numbers)}
    lowest = len(sequence_numbers)
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in position:
            return 0
        lowest = min(lowest, position[identifier])
    return lowest


@dataclass
class Segment:
    """Change-log entries to deliver together, and how many times they were invoked and failed."""

    changes: list[dict[str, Any]]
    attempts: int = 0
    invocations: int = 0


@dataclass
class AfterFailure:
    """What follows a failed invocation of a segment."""

    #: Sequence number that succeeded and may be checkpointed (records before the first failure).
    checkpoint: int | None = None
    #: Segments to deliver next, in order.
    retry: list[Segment] = field(default_factory=list)
    #: A segment that exhausted its retries: record it to onFailure, then skip it.
    exhausted: Segment | None = None


def after_failure(segment: Segment, failed_at: int, max_retries: int, bisect: bool) -> AfterFailure:
    """The next step once ``segment`` failed from index ``failed_at`` on."""
    out = AfterFailure()
    rest = segment.changes
    if failed_at > 0:
        out.checkpoint = rest[failed_at - 1]["seq"]
        rest = rest[failed_at:]
    if bisect and len(rest) > 1:
        half = len(rest) // 2
        out.retry = [
            Segment(rest[:half], segment.attempts, segment.invocations),
            Segment(rest[half:], segment.attempts, segment.invocations),
        ]
        return out
    attempts = segment.attempts + 1
    if max_retries != -1 and attempts > max_retries:
        out.exhausted = Segment(rest, attempts, segment.invocations)
    else:
        out.retry = [Segment(rest, attempts, segment.invocations)]
    return out


def retry_pause(attempts: int) -> float:
    return min(RETRY_PAUSE_S[1], RETRY_PAUSE_S[0] * 2 ** max(0, attempts - 1))


def failure_record(
    *,
    request_id: str,
    function_arn: str,
    segment: Segment,
    shard: str,
    stream_arn: str,
    now_ms: int,
    status_code: int | None,
    function_error: str | None,
) -> dict[str, Any]:
    """Lambda's on-failure record for a stream batch (``DDBStreamBatchInfo``)."""
    changes = segment.changes
    response: dict[str, Any] = {"executedVersion": "$LATEST"}
    if status_code is not None:
        response["statusCode"] = status_code
    if function_error:
        response["functionError"] = function_error
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": segment.invocations,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso(now_ms),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": names.sequence_number(changes[0]["seq"]),
            "endSequenceNumber": names.sequence_number(changes[-1]["seq"]),
            "approximateArrivalOfFirstRecord": iso(int((changes[0].get("timestamp") or 0) * 1000)),
            "approximateArrivalOfLastRecord": iso(int((changes[-1].get("timestamp") or 0) * 1000)),
            "batchSize": len(changes),
            "streamArn": stream_arn,
        },
    }
