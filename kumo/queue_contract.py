"""The one contract between whoever writes to a Kumo queue and the queue surface that reads it.

A Kumo queue ``NAME`` is the Redis stream ``kumo:queue:NAME``; every message is one stream entry with
the fields ``body`` (the message text), ``id`` (a uuid message id) and ``sent`` (epoch milliseconds).
Async destinations (``onSuccess: {queue: NAME}``) write it; the SQS-compatible surface reads it.
"""

from __future__ import annotations

import time
import uuid

QUEUE_KEY_PREFIX = "kumo:queue:"
FIELD_BODY = "body"
FIELD_ID = "id"
FIELD_SENT = "sent"


def queue_key(name: str) -> str:
    """The Redis stream of queue ``name``."""
    return f"{QUEUE_KEY_PREFIX}{name}"


def message_fields(body: str, *, message_id: str | None = None, sent_ms: int | None = None) -> dict[str, str]:
    """The stream entry's fields for one message (``XADD kumo:queue:NAME * body .. id .. sent ..``)."""
    return {
        FIELD_BODY: body,
        FIELD_ID: message_id or str(uuid.uuid4()),
        FIELD_SENT: str(sent_ms if sent_ms is not None else int(time.time() * 1000)),
    }
