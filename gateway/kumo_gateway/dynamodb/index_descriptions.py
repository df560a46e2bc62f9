"""Secondary indexes in table descriptions: CreateTable/UpdateTable validation, stored and public shapes.

Pure. The stored description keeps each index's definition (``IndexName``, ``KeySchema``,
``Projection``, ``ProvisionedThroughput``, ``IndexArn``); its status, ``Backfilling``, ``ItemCount``
and ``IndexSizeBytes`` are computed live from the partitions (:func:`with_live_status`).
"""

from __future__ import annotations

import re
from typing import Any

from kumo_tablestore.errors import DynamoError, ResourceNotFoundException, ValidationException

MAX_GSIS = 20
MAX_LSIS = 5
MAX_NON_KEY = 100
_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
_PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
GSI_FIELD = "GlobalSecondaryIndexes"
LSI_FIELD = "LocalSecondaryIndexes"


def _invalid(message: str) -> ValidationException:
    return ValidationException(f"One or more parameter values were invalid: {message}")


def index_key_names(request: dict[str, Any]) -> list[str]:
    """Attribute names the request's index key schemas use (for the AttributeDefinitions check)."""
    out: list[str] = []
    for field in (GSI_FIELD, LSI_FIELD):
        for index in request.get(field) or []:
            for element in (index.get("KeySchema") or []) if isinstance(index, dict) else []:
                if isinstance(element, dict) and isinstance(element.get("AttributeName"), str):
                    out.append(element["AttributeName"])
    for update in request.get("GlobalSecondaryIndexUpdates") or []:
        create = update.get("Create") if isinstance(update, dict) else None
        for element in (create.get("KeySchema") or []) if isinstance(create, dict) else []:
            if isinstance(element, dict) and isinstance(element.get("AttributeName"), str):
                out.append(element["AttributeName"])
    return out


def _index_key_schema(index: dict[str, Any], types: dict[str, str]) -> list[dict[str, str]]:
    schema = index.get("KeySchema")
    name = index["IndexName"]
    if not isinstance(schema, list) or not 1 <= len(schema) <= 2:
        raise ValidationException(
            f"1 validation error detected: Value at 'keySchema' of index {name} failed to satisfy constraint: "
            "Member must have length less than or equal to 2 and greater than or equal to 1"
        )
    out = []
    for i, element in enumerate(schema):
        if not isinstance(element, dict) or not isinstance(element.get("AttributeName"), str):
            raise _invalid(f"Invalid KeySchema for index {name}: every element needs an AttributeName")
        want = "HASH" if i == 0 else "RANGE"
        if element.get("KeyType") != want:
            raise _invalid(
                f"Invalid KeySchema: The {'first' if i == 0 else 'second'} KeySchemaElement is not a {want} key type"
            )
        if element["AttributeName"] not in types:
            raise _invalid(
                "Some index key attributes are not defined in AttributeDefinitions. "
                f"Keys: [{', '.join(e.get('AttributeName', '') for e in schema)}], "
                f"AttributeDefinitions: [{', '.join(types)}]"
            )
        out.append({"AttributeName": element["AttributeName"], "KeyType": want})
    if len(out) == 2 and out[0]["AttributeName"] == out[1]["AttributeName"]:
        raise _invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    return out


def _projection(index: dict[str, Any]) -> dict[str, Any]:
    raw = index.get("Projection")
    name = index["IndexName"]
    if not isinstance(raw, dict):
        raise ValidationException(
            f"1 validation error detected: Value null at 'projection' of index {name} failed to satisfy constraint: "
            "Member must not be null"
        )
    kind = raw.get("ProjectionType", "ALL") if raw else "ALL"
    if kind not in _PROJECTIONS:
        raise ValidationException(
            f"1 validation error detected: Value '{kind}' at 'projection.projectionType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [ALL, KEYS_ONLY, INCLUDE]"
        )
    non_key = raw.get("NonKeyAttributes")
    if kind == "INCLUDE":
        if not isinstance(non_key, list) or not non_key or not all(isinstance(a, str) for a in non_key):
            raise _invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
        if len(non_key) > MAX_NON_KEY:
            raise _invalid(f"The number of projected attributes exceeds the limit of {MAX_NON_KEY}")
        return {"ProjectionType": kind, "NonKeyAttributes": list(non_key)}
    if non_key:
        raise _invalid(f"ProjectionType is {kind}, but NonKeyAttributes is specified")
    return {"ProjectionType": kind}


def _throughput(index: dict[str, Any], mode: str) -> dict[str, int]:
    raw = index.get("ProvisionedThroughput")
    name = index["IndexName"]
    if mode == "PAY_PER_REQUEST":
        if raw is not None:
            raise _invalid(
                f"ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
            )
        return {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if not isinstance(raw, dict):
        raise _invalid(f"ProvisionedThroughput must be specified for index: {name}")
    out = {}
    for field in ("ReadCapacityUnits", "WriteCapacityUnits"):
        n = raw.get(field)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValidationException(
                f"1 validation error detected: Value '{n}' at 'globalSecondaryIndexes.provisionedThroughput."
                f"{field[0].lower()}{field[1:]}' failed to satisfy constraint: Member must have value greater than "
                "or equal to 1"
            )
        out[field] = n
    return out


def _check_name(index: Any, seen: set[str]) -> str:
    if not isinstance(index, dict) or not isinstance(index.get("IndexName"), str):
        raise ValidationException(
            "1 validation error detected: Value null at 'indexName' failed to satisfy constraint: "
            "Member must not be null"
        )
    name = index["IndexName"]
    if not _NAME.match(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'indexName' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
        )
    if name in seen:
        raise _invalid(f"Duplicate index name: {name}")
    seen.add(name)
    return name


def global_index(
    index: dict[str, Any], types: dict[str, str], mode: str, table_arn: str, status: str
) -> dict[str, Any]:
    """The stored form of one GSI of a CreateTable / UpdateTable ``Create``."""
    name = index["IndexName"]
    out: dict[str, Any] = {
        "IndexName": name,
        "KeySchema": _index_key_schema(index, types),
        "Projection": _projection(index),
        "IndexStatus": status,
        "ProvisionedThroughput": {"NumberOfDecreasesToday": 0, **_throughput(index, mode)},
        "IndexArn": f"{table_arn}/index/{name}",
    }
    return out


def create_indexes(
    request: dict[str, Any], table_schema: list[dict[str, str]], defs: list[dict[str, str]], mode: str, table_arn: str
) -> dict[str, Any]:
    """The ``GlobalSecondaryIndexes``/``LocalSecondaryIndexes`` of a CreateTable's description."""
    types = {d["AttributeName"]: d["AttributeType"] for d in defs}
    seen: set[str] = set()
    out: dict[str, Any] = {}
    gsis, lsis = request.get(GSI_FIELD), request.get(LSI_FIELD)
    if gsis is not None:
        if not isinstance(gsis, list) or not gsis:
            raise _invalid("List of GlobalSecondaryIndexes is empty")
        if len(gsis) > MAX_GSIS:
            raise _invalid(f"GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}")
        for index in gsis:
            _check_name(index, seen)
        out[GSI_FIELD] = [global_index(g, types, mode, table_arn, "ACTIVE") for g in gsis]
    if lsis is not None:
        if not isinstance(lsis, list) or not lsis:
            raise _invalid("List of LocalSecondaryIndexes is empty")
        if len(lsis) > MAX_LSIS:
            raise _invalid(f"LocalSecondaryIndex count exceeds the per-table limit of {MAX_LSIS}")
        if len(table_schema) < 2:
            raise _invalid(
                "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
            )
        local = []
        for index in lsis:
            name = _check_name(index, seen)
            schema = _index_key_schema(index, types)
            if len(schema) != 2:
                raise _invalid(f"Index KeySchema for index {name} must have a RANGE key")
            if schema[0]["AttributeName"] != table_schema[0]["AttributeName"]:
                raise _invalid(
                    f"Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. "
                    f"index hash key: {schema[0]['AttributeName']}, table hash key: {table_schema[0]['AttributeName']}"
                )
            local.append(
                {
                    "IndexName": name,
                    "KeySchema": schema,
                    "Projection": _projection(index),
                    "IndexArn": f"{table_arn}/index/{name}",
                }
            )
        out[LSI_FIELD] = local
    return out


def merge_definitions(current: list[dict[str, str]], request: dict[str, Any]) -> list[dict[str, str]]:
    """AttributeDefinitions after an UpdateTable that may define new index keys (conflicts refused)."""
    types = {d["AttributeName"]: d["AttributeType"] for d in current}
    for d in request.get("AttributeDefinitions") or []:
        if not isinstance(d, dict) or d.get("AttributeType") not in ("S", "N", "B"):
            raise ValidationException("Invalid AttributeDefinitions: every element needs an AttributeName and type")
        name = d.get("AttributeName")
        if name in types and types[name] != d["AttributeType"]:
            raise _invalid(f"Cannot change the type of attribute {name} (it is {types[name]})")
        types[name] = d["AttributeType"]
    return [{"AttributeName": n, "AttributeType": t} for n, t in types.items()]


def _used_attributes(description: dict[str, Any]) -> set[str]:
    used = {e["AttributeName"] for e in description["KeySchema"]}
    for field in (GSI_FIELD, LSI_FIELD):
        for index in description.get(field) or []:
            used.update(e["AttributeName"] for e in index["KeySchema"])
    return used


def apply_index_updates(description: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The description after UpdateTable's ``GlobalSecondaryIndexUpdates`` (one Create or Delete at a time)."""
    updates = request.get("GlobalSecondaryIndexUpdates")
    if not isinstance(updates, list) or not updates:
        raise ValidationException("GlobalSecondaryIndexUpdates must be a non-empty list")
    out = dict(description)
    gsis = [dict(g) for g in description.get(GSI_FIELD) or []]
    names = {g["IndexName"] for g in gsis} | {i["IndexName"] for i in description.get(LSI_FIELD) or []}
    mode = description["BillingModeSummary"]["BillingMode"]
    structural = 0
    defs = merge_definitions(description["AttributeDefinitions"], request)
    types = {d["AttributeName"]: d["AttributeType"] for d in defs}
    for update in updates:
        if not isinstance(update, dict) or len(update) != 1 or next(iter(update)) not in ("Create", "Delete", "Update"):
            raise ValidationException("Each GlobalSecondaryIndexUpdate must have exactly one of Create, Update, Delete")
        action, spec = next(iter(update.items()))
        if not isinstance(spec, dict) or not isinstance(spec.get("IndexName"), str):
            raise ValidationException(
                "1 validation error detected: Value null at 'indexName' failed to satisfy constraint: "
                "Member must not be null"
            )
        name = spec["IndexName"]
        if action == "Create":
            structural += 1
            _check_name(spec, set(names))
            if len(gsis) >= MAX_GSIS:
                raise ValidationException(f"GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}")
            gsi = global_index(spec, types, mode, description["TableArn"], "CREATING")
            gsis.append(gsi)
            names.add(name)
        elif action == "Delete":
            structural += 1
            if not any(g["IndexName"] == name for g in gsis):
                raise ResourceNotFoundException(f"Requested resource not found: Index: {name} not found")
            gsis = [g for g in gsis if g["IndexName"] != name]
        else:
            match = [g for g in gsis if g["IndexName"] == name]
            if not match:
                raise ResourceNotFoundException(f"Requested resource not found: Index: {name} not found")
            match[0]["ProvisionedThroughput"] = {"NumberOfDecreasesToday": 0, **_throughput(spec, mode)}
    if structural > 1:
        raise DynamoError(
            "LimitExceededException",
            "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
        )
    if gsis:
        out[GSI_FIELD] = gsis
    else:
        out.pop(GSI_FIELD, None)
    out["AttributeDefinitions"] = defs
    used = _used_attributes(out)
    unused = [d["AttributeName"] for d in defs if d["AttributeName"] not in used]
    if any(d.get("AttributeName") in unused for d in request.get("AttributeDefinitions") or []):
        raise _invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )
    out["AttributeDefinitions"] = [d for d in defs if d["AttributeName"] in used]
    return out


def deleted_indexes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """GSIs an update removed, shown ``DELETING`` in UpdateTable's answer (as DynamoDB shows them)."""
    kept = {g["IndexName"] for g in after.get(GSI_FIELD) or []}
    return [{**g, "IndexStatus": "DELETING"} for g in before.get(GSI_FIELD) or [] if g["IndexName"] not in kept]


def with_live_status(description: dict[str, Any], status: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The public description's indexes with the partitions' live figures.

    ``status[name] = {"backfilling": any partition still backfilling, "items", "bytes"}``.
    """
    out = dict(description)
    for field in (GSI_FIELD, LSI_FIELD):
        if field not in description:
            continue
        indexes = []
        for index in description[field]:
            live = status.get(index["IndexName"], {})
            shown = {**index, "ItemCount": live.get("items", 0), "IndexSizeBytes": live.get("bytes", 0)}
            if field == GSI_FIELD:
                backfilling = live.get("backfilling", index.get("IndexStatus") == "CREATING")
                shown["IndexStatus"] = "CREATING" if backfilling else "ACTIVE"
                if backfilling:
                    shown["Backfilling"] = True
                else:
                    shown.pop("Backfilling", None)
            indexes.append(shown)
        out[field] = indexes
    return out
