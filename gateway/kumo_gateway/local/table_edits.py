"""Table manifests against served tables (pure): the description a manifest asks for, whether its key
schema differs from a stored table's (refused, as DynamoDB cannot change a table's keys), and the
settings an edit may change in place (billing, throughput, TTL attribute, stream, GSIs added or removed)."""

from __future__ import annotations

import time
from typing import Any

from kumo.models.table import Table
from kumo_gateway.dynamodb import descriptions, manifest_indexes
from kumo_gateway.dynamodbstreams import specification as streams

#: Description fields a manifest edit changes on a served table (everything else is the table's).
SETTINGS = ("BillingModeSummary", "ProvisionedThroughput", "TimeToLiveDescription")
_FIELD = {"HASH": "spec.partitionKey", "RANGE": "spec.sortKey"}


def wanted_description(name: str, manifest: Table, now: float | None = None) -> dict[str, Any]:
    spec = manifest.spec
    wanted = descriptions.create_description(
        descriptions.manifest_request(name, spec), now=time.time() if now is None else now, partitions=spec.partitions
    )
    return descriptions.with_ttl_attribute(wanted, spec.ttl_attribute)


def _keys(description: dict[str, Any]) -> dict[str, str]:
    """``{"HASH": "id (S)", "RANGE": ...}`` of a description."""
    types = {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions") or []}
    return {
        k["KeyType"]: f"{k['AttributeName']} ({types.get(k['AttributeName'], '?')})" for k in description["KeySchema"]
    }


def key_schema_problem(stored: dict[str, Any], wanted: dict[str, Any]) -> str | None:
    """``"spec.partitionKey: ..."`` when the manifest's keys differ from the stored table's, else None."""
    old, new = _keys(stored), _keys(wanted)
    for key_type in ("HASH", "RANGE"):
        if old.get(key_type) != new.get(key_type):
            return (
                f"{_FIELD[key_type]}: the key schema of an existing table cannot change "
                f"(table has {old.get(key_type) or 'none'}, manifest asks for {new.get(key_type) or 'none'}); "
                "the table keeps serving with its keys"
            )
    return None


def merged(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """``stored`` with the manifest's settings (the keys must already agree)."""
    settings = {**stored, **{key: wanted[key] for key in SETTINGS if key in wanted}}
    return streams.follow(settings, wanted, time.time())


def manifest_update(stored: dict[str, Any], wanted: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """:func:`merged` plus the manifest's GSIs added/removed/re-provisioned (as UpdateTable would); the
    second value lists the index changes refused (see :mod:`kumo_gateway.dynamodb.manifest_indexes`)."""
    return manifest_indexes.reconcile(merged(stored, wanted), wanted)
