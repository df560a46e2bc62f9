"""Pure shapes of what an async event leaves behind: Lambda's destination record and the dead-letter
record ``kumo dlq list --json`` prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds (``2026-12-05T19:03:13.123Z``)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_payload(payload: bytes | str) -> Any:
    """The event as JSON (Invoke only accepts JSON); the raw text if it somehow is not."""
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace") if isinstance(payload, bytes) else payload


def destination_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    payload: bytes | str,
    now_ms: int,
    status_code: int | None,
    executed_version: str | None,
    function_error: str | None,
    response: bytes | None,
) -> dict[str, Any]:
    """Lambda's invocation record (``version: "1.0"``) sent to onSuccess/onFailure destinations."""
    response_context: dict[str, Any] = {}
    if status_code is not None:
        response_context["statusCode"] = status_code
    if executed_version is not None:
        response_context["executedVersion"] = executed_version
    if function_error:
        response_context["functionError"] = function_error
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso(now_ms),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": parse_payload(payload),
        "responseContext": response_context,
    }
    if response is not None:
        record["responsePayload"] = parse_payload(response) if response else None
    return record


def dlq_record(
    *,
    request_id: str,
    function: str,
    version: str,
    function_arn: str,
    payload: bytes | str,
    error: dict[str, Any] | None,
    condition: str,
    attempts: int,
    enqueued_ms: int,
    first_ms: int | None,
    last_ms: int | None,
    config: str,
) -> dict[str, Any]:
    """What the dead-letter queue keeps of a failed or expired event (without its queue ``id``)."""
    return {
        "requestId": request_id,
        "function": function,
        "version": version,
        "functionArn": function_arn,
        "payload": parse_payload(payload),
        "error": error,
        "condition": condition,
        "attempts": attempts,
        "enqueued": iso(enqueued_ms),
        "firstAttempt": iso(first_ms),
        "lastAttempt": iso(last_ms),
        "config": config,
    }
