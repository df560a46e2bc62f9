"""DynamoDB's low-level JSON protocol: the target header, request bodies and error bodies. Pure."""

from __future__ import annotations

import re
from typing import Any

from kumo_gateway.auth.errors import CORAL_PREFIX, AuthFailure
from kumo_tablestore import wire_json
from kumo_tablestore.errors import DynamoError

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"

#: Operations the router answers (data plane and table management).
DATA_OPERATIONS = frozenset(
    {"PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)
TABLE_OPERATIONS = frozenset(
    {
        "CreateTable",
        "DeleteTable",
        "DescribeTable",
        "ListTables",
        "UpdateTable",
        "UpdateTimeToLive",
        "DescribeTimeToLive",
    }
)
#: Transactions (answered in a Task: the coordinator waits and retries).
TRANSACT_OPERATIONS = frozenset({"TransactWriteItems", "TransactGetItems"})
OPERATIONS = DATA_OPERATIONS | TABLE_OPERATIONS | TRANSACT_OPERATIONS
_VALID_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")


class UnknownOperation(DynamoError):
    def __init__(self, message: str) -> None:
        super().__init__("UnknownOperationException", message)


class SerializationError(DynamoError):
    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message)


class ServiceUnavailable(DynamoError):
    def __init__(self, message: str = "The service is currently unavailable. Please retry.") -> None:
        super().__init__("ServiceUnavailableException", message, 503)


def parse_target(header: str | None) -> str:
    """The operation named by ``X-Amz-Target``; raises :class:`UnknownOperation` otherwise."""
    if not header or not header.startswith(TARGET_PREFIX):
        raise UnknownOperation(f"Operation is not supported: {header or '(no X-Amz-Target header)'}")
    operation = header[len(TARGET_PREFIX) :]
    if operation not in OPERATIONS:
        raise UnknownOperation(f"Operation is not supported by Kumo: {operation}")
    return operation


def parse_body(body: bytes) -> dict[str, Any]:
    """The request JSON object; raises :class:`SerializationError` for anything but a JSON object."""
    if not body.strip():
        return {}
    try:
        parsed = wire_json.loads(body)
    except ValueError:  # also invalid UTF-8 and unpaired surrogate escapes
        raise SerializationError("Start of structure or map found where not expected / malformed JSON") from None
    if not isinstance(parsed, dict):
        raise SerializationError("The request body must be a JSON object")
    return parsed


def check_item_collection_metrics(body: dict[str, Any]) -> None:
    """``ReturnItemCollectionMetrics`` must be SIZE or NONE.

    Item collections exist only on tables with local secondary indexes, so, as DynamoDB does for a
    table without them, no ``ItemCollectionMetrics`` is ever returned.
    """
    value = body.get("ReturnItemCollectionMetrics")
    if value is not None and value not in ("SIZE", "NONE"):
        raise DynamoError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at 'returnItemCollectionMetrics' failed to satisfy "
            "constraint: Member must satisfy enum value set: [SIZE, NONE]",
        )


def dumps(body: dict[str, Any]) -> bytes:
    """Compact JSON bytes, as DynamoDB sends them."""
    return wire_json.dumps(body)


def error_body(error: DynamoError) -> bytes:
    return dumps(error.to_dict())


def auth_error_body(failure: AuthFailure) -> bytes:
    """A refused signature or a denied action as DynamoDB answers it (the front door's ``__type``)."""
    return dumps({"__type": CORAL_PREFIX + failure.code.value, "message": failure.message})


def touched_tables(operation: str, body: bytes) -> tuple[str, ...] | None:
    """The tables a request names (``*`` for ListTables), None when the body is unreadable (the
    router then answers the validation error; such a request touches no table)."""
    if operation == "ListTables":
        return ("*",)
    try:
        parsed = parse_body(body)
    except DynamoError:
        return None
    if operation in ("BatchGetItem", "BatchWriteItem"):
        items = parsed.get("RequestItems")
        return tuple(str(name) for name in items) if isinstance(items, dict) else None
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return _transact_tables(parsed.get("TransactItems"))
    name = parsed.get("TableName")
    return (name,) if isinstance(name, str) else None


def _transact_tables(items: Any) -> tuple[str, ...] | None:
    """The tables of a transaction's actions (None when malformed: the router answers the error)."""
    if not isinstance(items, list):
        return None
    names: list[str] = []
    for entry in items:
        if not isinstance(entry, dict):
            return None
        for op in entry.values():
            name = op.get("TableName") if isinstance(op, dict) else None
            if not isinstance(name, str):
                return None
            if name not in names:
                names.append(name)
    return tuple(names)


def require_table_name(body: dict[str, Any], field: str = "TableName") -> str:
    """``body[field]`` checked as a table name (DynamoDB's constraint message on failure)."""
    from kumo_tablestore.errors import ValidationException

    name = body.get(field)
    if name is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{_lower_first(field)}' failed to satisfy constraint: "
            "Member must not be null"
        )
    check_table_name(name, field)
    return name


#: Names already found valid (bounded: cleared when full), so a hot table's name is checked once.
_valid_names: set[str] = set()


def check_table_name(name: Any, field: str = "TableName") -> None:
    """A table name (or a name where one is expected, e.g. ``ExclusiveStartTableName``): a string of DynamoDB's
    pattern; another JSON type is a :class:`SerializationError`, a bad string a ``ValidationException``."""
    from kumo_tablestore.errors import ValidationException

    if not isinstance(name, str):
        raise SerializationError(f"{field} must be a string")
    if name in _valid_names:
        return
    if _VALID_TABLE_NAME.fullmatch(name):
        if len(_valid_names) >= 4096:
            _valid_names.clear()
        _valid_names.add(name)
        return
    problems = []
    if not 3 <= len(name) <= 255:
        problems.append(
            f"Value '{name}' at '{_lower_first(field)}' failed to satisfy constraint: "
            "Member must have length less than or equal to 255 and greater than or equal to 3"
            if len(name) > 255
            else f"Value '{name}' at '{_lower_first(field)}' failed to satisfy constraint: "
            "Member must have length greater than or equal to 3"
        )
    if not all(c.isascii() and (c.isalnum() or c in "_.-") for c in name):
        problems.append(
            f"Value '{name}' at '{_lower_first(field)}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )
    if problems:
        count = len(problems)
        raise ValidationException(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems)
        )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
