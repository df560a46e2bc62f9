"""The shape of one BatchWriteItem ``WriteRequest``, checked the same way by the router and the partitions. Pure."""

from __future__ import annotations

from typing import Any

from kumo_tablestore.errors import ValidationException

KINDS = ("PutRequest", "DeleteRequest")


def split_write_request(raw: Any) -> tuple[str, dict[str, Any]]:
    """``(kind, request)`` of a WriteRequest: exactly one of PutRequest/DeleteRequest, whose value is a map."""
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in KINDS:
        raise ValidationException("Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest")
    ((kind, request),) = raw.items()
    if not isinstance(request, dict):
        raise ValidationException(f"{kind} must be a map")
    return kind, request
