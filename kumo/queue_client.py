"""``kumo queue send``: put a message on a Kumo queue through a gateway's SQS-compatible endpoint."""

from __future__ import annotations

import json
from typing import Any

import httpx

#: The account id in Kumo's queue URLs (the gateway reads only the queue name from them).
ACCOUNT_ID = "000000000000"


class QueueError(Exception):
    """The gateway refused the call (SQS's error code and message)."""


def call(url: str, operation: str, params: dict[str, Any], *, auth: httpx.Auth | None = None) -> dict[str, Any]:
    """One SQS JSON-protocol call (``X-Amz-Target: AmazonSQS.<operation>``)."""
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/",
            content=json.dumps(params).encode(),
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"},
            timeout=30,
            auth=auth or httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        raise QueueError(f"cannot reach the gateway at {url}: {exc}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 400:
        kind = str(answer.get("__type", f"HTTP {response.status_code}")).rsplit("#", 1)[-1]
        raise QueueError(f"{kind}: {answer.get('message') or response.text}")
    return answer if isinstance(answer, dict) else {}


def send(url: str, queue: str, body: str, *, auth: httpx.Auth | None = None) -> str:
    """Send ``body`` to ``queue``; the message id."""
    queue_url = f"{url.rstrip('/')}/{ACCOUNT_ID}/{queue}"
    return str(call(url, "SendMessage", {"QueueUrl": queue_url, "MessageBody": body}, auth=auth)["MessageId"])
