"""Tables in a cluster, the pure part: Table resource → stored description, partition endpoints, refusals.

A Table resource (``kumo.dev/v1alpha1``) is the source of truth for a table's settings; its
partitions are the pods of the operator's StatefulSet ``table-<name>`` behind the headless Service
of the same name. :mod:`kumo_gateway.kubernetes.tables` does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kumo.kube.names import POD_PORT as PORT
from kumo.kube.names import table_child_name
from kumo.models.table import Table
from kumo_gateway.dynamodb import descriptions, manifest_indexes
from kumo_tablestore.errors import DynamoError, ResourceInUseException, ValidationException

#: Where partition ``index`` of a table answers: the StatefulSet pod's stable DNS name.
HOST_TEMPLATE = "{statefulset}-{index}.{service}.{namespace}.svc.cluster.local:" + str(PORT)
#: A ``str.format`` template (fields ``statefulset``, ``service``, ``namespace``, ``index``, ``table``)
#: or a function ``(table, namespace, index) -> "host:port"``.
EndpointTemplate = str | Callable[[str, str, int], str]

#: Fields a Table's manifest may change on an existing table (the rest is fixed once stored). The stream's
#: ARN and label come from the Table's creation time, so every gateway replica computes the same ones.
MUTABLE_FIELDS = (
    "BillingModeSummary",
    "ProvisionedThroughput",
    "TimeToLiveDescription",
    "StreamSpecification",
    "LatestStreamArn",
    "LatestStreamLabel",
)


def _table_keys(description: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """The table's typed key schema (index key attributes also sit in AttributeDefinitions)."""
    types = {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions") or []}
    return [(e["AttributeName"], e["KeyType"], types.get(e["AttributeName"])) for e in description["KeySchema"]]


class InvalidTable(ValueError):
    """A Table resource the gateway cannot serve (the message says why)."""


def partition_endpoints(
    table: str, namespace: str, count: int, template: EndpointTemplate = HOST_TEMPLATE
) -> tuple[str, ...]:
    """``http://host:port`` of partitions ``0 .. count-1``."""
    name = table_child_name(table)

    def host(index: int) -> str:
        if callable(template):
            return template(table, namespace, index)
        return template.format(statefulset=name, service=name, namespace=namespace, index=index, table=table)

    return tuple(f"http://{host(i)}" for i in range(count))


def creation_time(timestamp: Any) -> float:
    """``metadata.creationTimestamp`` (RFC 3339) as epoch seconds; 0 when absent or unreadable."""
    if not isinstance(timestamp, str):
        return 0.0
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def table_description(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The stored description for a Table object as the API server returns it (``TableStatus: ACTIVE``).

    Deterministic: ``TableId`` is the object's uid and ``CreationDateTime`` its creation time, so
    every gateway replica computes the same description. Raises :class:`InvalidTable`.
    """
    try:
        model = Table.model_validate({k: obj[k] for k in ("apiVersion", "kind", "metadata", "spec") if k in obj})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidTable(f"invalid Table: {problems}") from None
    meta = obj.get("metadata") or {}
    name, spec = model.metadata.name, model.spec
    now = creation_time(meta.get("creationTimestamp"))
    try:
        request = descriptions.manifest_request(name, spec)
        description = descriptions.create_description(request, now=now, partitions=spec.partitions)
    except DynamoError as exc:
        raise InvalidTable(f"invalid Table {name}: {exc.message}") from None
    description = descriptions.with_ttl_attribute(description, spec.ttl_attribute)
    description["TableId"] = str(meta.get("uid") or description["TableId"])
    return description


def merge_stored(wanted: dict[str, Any], stored: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """The description to serve, given what the partitions already hold; plus warnings.

    A stored table keeps its identity (keys, partition count and slot map, id, creation time):
    the manifest's billing, throughput, TTL and stream settings and its GSIs (added, removed,
    re-provisioned; :mod:`kumo_gateway.dynamodb.manifest_indexes`) are applied to it. Keys that differ
    keep the stored table unchanged (changing keys would orphan the data); so does a new partition count
    (repartitioning is not supported).
    """
    if stored is None:
        return wanted, []
    base = {k: v for k, v in stored.items() if k != "PartitionIndex"}
    name = wanted["TableName"]
    if _table_keys(base) != _table_keys(wanted):
        return base, [f"table {name}: the Table's keys differ from the stored table's; serving the stored table"]
    warnings = []
    if base.get("PartitionCount") != wanted["PartitionCount"]:
        warnings.append(
            f"table {name}: keeping {base.get('PartitionCount')} stored partitions (the Table asks for "
            f"{wanted['PartitionCount']}; repartitioning is not supported)"
        )
    out = dict(base)
    for key in MUTABLE_FIELDS:
        if key in wanted:
            out[key] = wanted[key]
        else:
            out.pop(key, None)
    out["TableStatus"] = "ACTIVE"
    out, problems = manifest_indexes.reconcile(out, wanted)
    return out, warnings + [f"table {name}: {problem}" for problem in problems]


def partition_count(description: Mapping[str, Any]) -> int:
    return int(description.get("PartitionCount", 1))


# ---- table management operations: tables come from Table resources ----------------------------

_MANIFEST_HINT = "Tables in a Kumo cluster are Table resources (apiVersion: kumo.dev/v1alpha1, kind: Table)"


def create_refused(name: str, exists: bool) -> DynamoError:
    """CreateTable: ``ResourceInUseException`` for an existing table (as AWS), else a ValidationException."""
    if exists:
        return ResourceInUseException(f"Table already exists: {name}")
    return ValidationException(
        f"CreateTable is not supported in a Kumo cluster. {_MANIFEST_HINT}: apply a Table manifest named "
        f"{name!r} (kubectl apply -f table.yaml) instead."
    )


def delete_refused(name: str) -> ValidationException:
    return ValidationException(
        f"DeleteTable is not supported in a Kumo cluster. {_MANIFEST_HINT}: delete the Table resource "
        f"(kubectl delete table {name}) instead."
    )


def update_refused(name: str, current: Mapping[str, Any], updated: Mapping[str, Any]) -> ValidationException:
    """UpdateTimeToLive when the TTL setting changes, else UpdateTable."""
    if current.get("TimeToLiveDescription") != updated.get("TimeToLiveDescription"):
        return ValidationException(
            f"UpdateTimeToLive is not supported in a Kumo cluster. {_MANIFEST_HINT}: set or remove "
            f"spec.ttlAttribute of the Table resource {name!r} instead."
        )
    if current.get("GlobalSecondaryIndexes") != updated.get("GlobalSecondaryIndexes"):
        return ValidationException(
            f"UpdateTable is not supported in a Kumo cluster. {_MANIFEST_HINT}: add, change or remove "
            f"spec.globalSecondaryIndexes of the Table resource {name!r} instead."
        )
    return ValidationException(
        f"UpdateTable is not supported in a Kumo cluster. {_MANIFEST_HINT}: change spec.billingMode / "
        f"spec.provisionedThroughput of the Table resource {name!r} instead."
    )
