"""SQS's JSON 1.0 protocol, the pure parts: targets, errors in SQS's shape, queue URLs and names,
parameter checks and the MD5 digests SDKs verify.

Errors are ``{"__type": "com.amazonaws.sqs#<Shape>", "message": ...}`` with the legacy query code in
``x-amzn-query-error: <Code>;Sender``: botocore maps that header back to ``client.exceptions.<Shape>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
from typing import Any

from kumo import untrusted_json

CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."
OPERATIONS = frozenset(
    {
        "CreateQueue",
        "GetQueueUrl",
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
        "PurgeQueue",
    }
)
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
#: SQS's largest message (body and attributes), and a batch's total.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_BATCH_ENTRIES = 10
MAX_WAIT_S = 20
MAX_VISIBILITY_S = 43200
DEFAULT_VISIBILITY_S = 30
BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
#: Characters SQS accepts in a message (XML 1.0's).
_ALLOWED = re.compile("^[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")
#: Queue attributes CreateQueue accepts: name -> (low, high) of the whole-number value.
QUEUE_ATTRIBUTES: dict[str, tuple[int, int]] = {
    "VisibilityTimeout": (0, MAX_VISIBILITY_S),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_S),
    "MessageRetentionPeriod": (60, 1209600),
    "MaximumMessageSize": (1024, MAX_MESSAGE_BYTES),
    "DelaySeconds": (0, 0),  # delayed delivery is not supported: only 0
}
SYSTEM_ATTRIBUTES = ("SenderId", "SentTimestamp", "ApproximateReceiveCount")


class SqsError(Exception):
    """An SQS error: ``shape`` names the ``__type``, ``code`` the legacy query error code."""

    def __init__(self, shape: str, message: str, *, code: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.shape = shape
        self.code = code or shape
        self.message = message
        self.status = status

    def body(self) -> bytes:
        return json.dumps({"__type": f"com.amazonaws.sqs#{self.shape}", "message": self.message}).encode()

    def query_error(self) -> str:
        return f"{self.code};{'Sender' if self.status < 500 else 'Receiver'}"


def queue_does_not_exist() -> SqsError:
    return SqsError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        code="AWS.SimpleQueueService.NonExistentQueue",
    )


def invalid_parameter(message: str) -> SqsError:
    return SqsError("InvalidParameterValue", message)


def missing_parameter(name: str) -> SqsError:
    return SqsError("MissingParameter", f"The request must contain the parameter {name}.")


def parse_target(target: str | None) -> str:
    operation = (target or "")[len(TARGET_PREFIX) :] if (target or "").startswith(TARGET_PREFIX) else ""
    if operation not in OPERATIONS:
        raise SqsError("UnsupportedOperation", f"Operation {target!r} is not supported.", code="UnknownOperation")
    return operation


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        parsed = untrusted_json.loads(body or b"{}")
    except ValueError as exc:
        raise SqsError("InvalidParameterValue", f"The request body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise SqsError("InvalidParameterValue", "The request body must be a JSON object.")
    return parsed


def string(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise missing_parameter(name)
        return None
    if not isinstance(value, str):
        raise invalid_parameter(f"Value for parameter {name} must be a string.")
    return value


def integer(params: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_parameter(f"Value {value!r} for parameter {name} is invalid. Must be between {low} and {high}.")
    return value


def check_queue_name(name: str) -> str:
    if not QUEUE_NAME.match(name):
        raise invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
            " (FIFO queues are not supported)."
        )
    return name


def queue_url(base: str, account_id: str, name: str) -> str:
    return f"{base.rstrip('/')}/{account_id}/{name}"


def queue_name_from_url(url: str) -> str:
    """The queue a ``QueueUrl`` names (its last path segment; any host, as SDKs rewrite them)."""
    path = url.split("://", 1)[-1].partition("/")[2].split("?", 1)[0]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if not path or not QUEUE_NAME.match(name):
        raise SqsError("InvalidAddress", f"The address {url} is not valid for this endpoint.")
    return name


def queue_attributes(given: Any) -> dict[str, str]:
    """CreateQueue's ``Attributes`` checked: known names, whole numbers in range."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise invalid_parameter("Attributes must be a map.")
    checked: dict[str, str] = {}
    for name, value in given.items():
        if name not in QUEUE_ATTRIBUTES:
            raise SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")
        low, high = QUEUE_ATTRIBUTES[name]
        text = value if isinstance(value, str) else ""
        if not text.isdigit() or not low <= int(text) <= high:
            raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
        checked[name] = str(int(text))
    return checked


def check_body(body: str) -> None:
    if not body:
        raise invalid_parameter("The message body must not be empty.")
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        raise invalid_parameter(
            f"One or more parameters are invalid. Reason: Message must be shorter than {MAX_MESSAGE_BYTES} bytes."
        )
    if not _ALLOWED.match(body):
        raise SqsError(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


def message_attributes(given: Any) -> dict[str, dict[str, str]]:
    """``MessageAttributes`` checked (String, Number and Binary values, base64 for Binary)."""
    if given is None:
        return {}
    if not isinstance(given, dict) or len(given) > 10:
        raise invalid_parameter("MessageAttributes must be a map of at most 10 attributes.")
    checked: dict[str, dict[str, str]] = {}
    for name, value in given.items():
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]{1,256}$", name):
            raise invalid_parameter(f"Message attribute name {name!r} is invalid.")
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise invalid_parameter(f"The message attribute '{name}' must contain a DataType.")
        kind = value["DataType"]
        field = "BinaryValue" if kind.startswith("Binary") else "StringValue"
        if kind.split(".", 1)[0] not in ("String", "Number", "Binary") or not isinstance(value.get(field), str):
            raise invalid_parameter(f"The message attribute '{name}' must contain a non-empty {field}.")
        checked[name] = {"DataType": kind, field: value[field]}
    return checked


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: dict[str, dict[str, str]]) -> str | None:
    """SQS's digest of message attributes (sorted by name; lengths as 4-byte big-endian prefixes)."""
    if not attributes:
        return None

    def part(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    out = b""
    for name in sorted(attributes):
        value = attributes[name]
        out += part(name.encode()) + part(value["DataType"].encode())
        if "BinaryValue" in value:
            out += b"\x02" + part(base64.b64decode(value["BinaryValue"]))
        else:
            out += b"\x01" + part(value["StringValue"].encode())
    return hashlib.md5(out, usedforsecurity=False).hexdigest()


def wanted(names: Any, available: tuple[str, ...] | list[str]) -> list[str]:
    """Which of ``available`` a request's attribute-name list asks for (``All``/``.*`` = every one)."""
    if names is None:
        return []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise invalid_parameter("Attribute name lists must be lists of strings.")
    if "All" in names or ".*" in names:
        return list(available)
    chosen = []
    for name in available:
        if name in names or any(n.endswith(".*") and name.startswith(n[:-2]) for n in names):
            chosen.append(name)
    return chosen
