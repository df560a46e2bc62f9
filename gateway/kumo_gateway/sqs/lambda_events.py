"""Lambda's SQS event and its partial-batch answer (pure).

The event: ``{"Records": [...]}``, one record per message as Lambda's SQS poller sends it. The
answer: a function that returns ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}`` had
those messages fail and the rest succeed; an identifier that names no message of the batch (or a
malformed list) fails the whole batch, as on AWS. Any other answer is a success for every record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kumo_gateway.sqs import receipts
from kumo_gateway.sqs.protocol import md5_of_attributes, md5_of_body
from kumo_gateway.sqs.queue_store import Received


def queue_arn(region: str, account_id: str, queue: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{queue}"


def _message_attribute(value: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "BinaryValue" in value:
        out["binaryValue"] = value["BinaryValue"]
    else:
        out["stringValue"] = value.get("StringValue", "")
    return out


def record(queue: str, message: Received, *, region: str, account_id: str, received_ms: int) -> dict[str, Any]:
    """One message as a record of Lambda's SQS event."""
    out: dict[str, Any] = {
        "messageId": message.message_id,
        "receiptHandle": receipts.encode(queue, message.entry_id, message.deliveries),
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.deliveries),
            "SentTimestamp": str(message.sent_ms),
            "SenderId": message.sender or account_id,
            "ApproximateFirstReceiveTimestamp": str(received_ms),
        },
        "messageAttributes": {name: _message_attribute(v) for name, v in message.attributes.items()},
        "md5OfBody": md5_of_body(message.body),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn(region, account_id, queue),
        "awsRegion": region,
    }
    digest = md5_of_attributes(message.attributes)
    if digest:
        out["md5OfMessageAttributes"] = digest
    return out


def event(
    queue: str, messages: Sequence[Received], *, region: str, account_id: str, received_ms: int
) -> dict[str, Any]:
    return {
        "Records": [record(queue, m, region=region, account_id=account_id, received_ms=received_ms) for m in messages]
    }


def failed_messages(payload: bytes, function_error: str | None, message_ids: Sequence[str]) -> set[str]:
    """The message ids of a batch that failed, from the function's answer."""
    everything = set(message_ids)
    if function_error:
        return everything
    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        return set()
    if not isinstance(answer, dict) or answer.get("batchItemFailures") is None:
        return set()
    failures = answer["batchItemFailures"]
    if not isinstance(failures, list):
        return everything
    failed = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed
