"""The internal router → partition-server protocol: paths, operation names and shared helpers.

JSON over HTTP/1.1 (keep-alive) on a partition server's port:

- ``GET /healthz`` → ``{"table": name|null, "partition": i, "items": count}``
- ``GET /stats`` → ``{"commits": n, "writes": n, ...}`` (group-commit counters, for tests/metrics)
- ``PUT /table`` (body: the router-owned TableDescription) / ``GET /table`` / ``DELETE /table``
- ``POST /stream`` → ``{"Records": [...], "First": seq|null, "Last": seq}`` (the change log, for streams)
- ``POST /op/<Operation>``: body = the client's DynamoDB request JSON (batch operations: only this
  partition's share, for one table), plus optional router-only ``Kumo*`` fields.
- ``/index/...``: secondary-index feed, apply, acknowledge and status
  (:mod:`kumo_tablestore.indexes.endpoints`). The answer is the
  DynamoDB response JSON for this partition's part, or a DynamoDB error body with its HTTP status.
"""

from __future__ import annotations

from typing import Any

from kumo_tablestore.errors import DynamoError

#: The partition's answer to a key outside its slots: the router's slot map is stale.
MISDIRECTED = 421

HEALTH_PATH = "/healthz"
STATS_PATH = "/stats"
TABLE_PATH = "/table"
#: ``POST /stream`` (body ``{"After", "Limit", "WaitMs"}``): change-log records for streams
#: (:mod:`kumo_tablestore.server.stream_reader`).
STREAM_PATH = "/stream"
OP_PREFIX = "/op/"
INDEX_PREFIX = "/index/"

#: Operations a partition server executes.
OPERATIONS = (
    "PutItem",
    "GetItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
)
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"})

#: Router-only request fields start with this prefix; the partition strips them before validation.
ROUTER_FIELD_PREFIX = "Kumo"
#: Parallel-scan segment the partition must restrict a Scan to (``partitioning.segment_of``).
KUMO_SEGMENT = "KumoSegment"
KUMO_TOTAL_SEGMENTS = "KumoTotalSegments"

#: Engine metadata name under which the table description is stored.
META_TABLE_DESCRIPTION = "table"

#: Fields of the table description the partition reads (the router owns the rest).
DESCRIPTION_FIELDS = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingModeSummary",
    "ProvisionedThroughput",
    "TimeToLiveDescription",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "PartitionCount",
    "PartitionIndex",
    "SlotMap",
)


def op_path(operation: str) -> str:
    """URL path for one operation, e.g. ``/op/PutItem``."""
    return OP_PREFIX + operation


def error_body(error: DynamoError) -> dict[str, Any]:
    """The JSON body of an error answer (``{"__type": ..., "message": ...}`` plus extras)."""
    return error.to_dict()


def split_router_fields(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(client_request, router_fields)``: separate the ``Kumo*`` fields from the DynamoDB request."""
    client = {k: v for k, v in body.items() if not k.startswith(ROUTER_FIELD_PREFIX)}
    router = {k: v for k, v in body.items() if k.startswith(ROUTER_FIELD_PREFIX)}
    return client, router
