"""Table descriptions: validate CreateTable/UpdateTable/UpdateTimeToLive and build what the router owns.

Pure. A stored description is DynamoDB's ``TableDescription`` plus Kumo's routing fields
(``PartitionCount``, ``SlotMap`` as JSON); :func:`public_description` strips those for clients.
"""

from __future__ import annotations

import uuid
from typing import Any

from kumo_gateway.dynamodb import index_descriptions, manifest_indexes
from kumo_gateway.dynamodb.json_protocol import check_table_name, require_table_name
from kumo_gateway.dynamodbstreams import specification as streams
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.partitioning import SlotMap

REGION = "us-east-1"
ACCOUNT = "000000000000"
PARTITIONS_TAG = "kumo:partitions"
MAX_PARTITIONS = 64
_INTERNAL = ("PartitionCount", "PartitionIndex", "SlotMap", *streams.INTERNAL)
_KEY_TYPES = ("S", "N", "B")
#: What an UpdateTable request may change.
_UPDATABLE = ("BillingMode", "ProvisionedThroughput", "DeletionProtectionEnabled", "StreamSpecification")


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _invalid(message: str) -> ValidationException:
    return ValidationException(f"One or more parameter values were invalid: {message}")


def _key_schema(request: dict[str, Any]) -> list[dict[str, str]]:
    schema = request.get("KeySchema")
    if not isinstance(schema, list) or not schema:
        raise ValidationException(
            "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: "
            "Member must not be null"
        )
    if len(schema) > 2:
        raise ValidationException(
            "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: "
            "Member must have length less than or equal to 2"
        )
    for element in schema:
        if not isinstance(element, dict) or not isinstance(element.get("AttributeName"), str):
            raise ValidationException("Invalid KeySchema: every element needs an AttributeName")
        if element.get("KeyType") not in ("HASH", "RANGE"):
            raise ValidationException(
                f"1 validation error detected: Value '{element.get('KeyType')}' at 'keySchema.member.keyType' "
                "failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]"
            )
    if schema[0]["KeyType"] != "HASH":
        raise _invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(schema) == 2:
        if schema[1]["KeyType"] != "RANGE":
            raise _invalid("Too many hash keys specified.  All Dynamo DB tables must have exactly one hash key")
        if schema[0]["AttributeName"] == schema[1]["AttributeName"]:
            raise _invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    return [{"AttributeName": e["AttributeName"], "KeyType": e["KeyType"]} for e in schema]


def _attribute_definitions(
    request: dict[str, Any], schema: list[dict[str, str]], index_keys: list[str] | None = None
) -> list[dict[str, str]]:
    defs = request.get("AttributeDefinitions")
    if not isinstance(defs, list) or not defs:
        raise ValidationException(
            "1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: "
            "Member must not be null"
        )
    out: dict[str, str] = {}
    for d in defs:
        if not isinstance(d, dict) or not isinstance(d.get("AttributeName"), str):
            raise ValidationException("Invalid AttributeDefinitions: every element needs an AttributeName")
        if d.get("AttributeType") not in _KEY_TYPES:
            raise ValidationException(
                f"1 validation error detected: Value '{d.get('AttributeType')}' at "
                "'attributeDefinitions.member.attributeType' failed to satisfy constraint: "
                "Member must satisfy enum value set: [B, N, S]"
            )
        if d["AttributeName"] in out:
            raise _invalid("Duplicate AttributeName found in AttributeDefinitions")
        out[d["AttributeName"]] = d["AttributeType"]
    key_names = [e["AttributeName"] for e in schema]
    for name in key_names:
        if name not in out:
            raise _invalid(
                "Some index key attributes are not defined in AttributeDefinitions. "
                f"Keys: [{', '.join(key_names)}], AttributeDefinitions: [{', '.join(out)}]"
            )
    used = list(dict.fromkeys(key_names + [n for n in index_keys or () if n in out]))
    if len(out) != len(used):
        raise _invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in "
            "AttributeDefinitions"
        )
    return [{"AttributeName": n, "AttributeType": out[n]} for n in used]


def _throughput(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValidationException("ProvisionedThroughput must be an object")
    units = {}
    for field in ("ReadCapacityUnits", "WriteCapacityUnits"):
        n = value.get(field)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValidationException(
                f"1 validation error detected: Value '{n}' at 'provisionedThroughput.{field[0].lower()}{field[1:]}' "
                "failed to satisfy constraint: Member must have value greater than or equal to 1"
            )
        units[field] = n
    return units


def _billing(request: dict[str, Any], current: str | None = None) -> tuple[str, dict[str, int] | None]:
    mode = request.get("BillingMode", current or "PROVISIONED")
    if mode not in ("PROVISIONED", "PAY_PER_REQUEST"):
        raise ValidationException(
            f"1 validation error detected: Value '{mode}' at 'billingMode' failed to satisfy constraint: "
            "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        )
    throughput = request.get("ProvisionedThroughput")
    if mode == "PAY_PER_REQUEST":
        if throughput is not None:
            raise _invalid(
                "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"
            )
        return mode, None
    if throughput is None:
        if current == "PROVISIONED":
            return mode, None
        raise ValidationException("No provisioned throughput specified for the table")
    return mode, _throughput(throughput)


def partitions_from_tags(tags: Any) -> int:
    """Partition count chosen by a ``kumo:partitions`` tag (default 1)."""
    if tags is None:
        return 1
    if not isinstance(tags, list):
        raise ValidationException("Tags must be a list of {Key, Value}")
    for tag in tags:
        if isinstance(tag, dict) and tag.get("Key") == PARTITIONS_TAG:
            value = str(tag.get("Value", ""))
            if not value.isdigit() or not 1 <= int(value) <= MAX_PARTITIONS:
                raise ValidationException(f"Tag {PARTITIONS_TAG} must be a whole number from 1 to {MAX_PARTITIONS}")
            return int(value)
    return 1


def create_description(request: dict[str, Any], *, now: float, partitions: int | None = None) -> dict[str, Any]:
    """The stored description for a CreateTable request (``TableStatus: ACTIVE``); raises DynamoDB's errors."""
    name = require_table_name(request)
    schema = _key_schema(request)
    defs = _attribute_definitions(request, schema, index_descriptions.index_key_names(request))
    mode, throughput = _billing(request)
    count = partitions if partitions is not None else partitions_from_tags(request.get("Tags"))
    if not 1 <= count <= MAX_PARTITIONS:
        raise ValidationException(f"partitions must be between 1 and {MAX_PARTITIONS}")
    description: dict[str, Any] = {
        "TableName": name,
        "TableArn": table_arn(name),
        "TableId": str(uuid.uuid4()),
        "TableStatus": "ACTIVE",
        "CreationDateTime": now,
        "KeySchema": schema,
        "AttributeDefinitions": defs,
        "BillingModeSummary": {"BillingMode": mode},
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": throughput["ReadCapacityUnits"] if throughput else 0,
            "WriteCapacityUnits": throughput["WriteCapacityUnits"] if throughput else 0,
        },
        "TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"},
        "DeletionProtectionEnabled": False,
        "PartitionCount": count,
        "SlotMap": SlotMap.even(count).to_json(),
    }
    description.update(index_descriptions.create_indexes(request, schema, defs, mode, description["TableArn"]))
    if mode == "PAY_PER_REQUEST":
        description["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = now
    return streams.on_create(description, request.get("StreamSpecification"), now)


def manifest_request(name: str, spec: Any) -> dict[str, Any]:
    """A CreateTable request equivalent to a Table manifest's spec (a ``kumo.models.table.TableSpec``)."""
    check_table_name(name)
    keys = [(spec.partition_key, "HASH")] + ([(spec.sort_key, "RANGE")] if spec.sort_key else [])
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": k.name, "KeyType": t} for k, t in keys],
        "AttributeDefinitions": [{"AttributeName": k.name, "AttributeType": k.type} for k, _ in keys],
        "BillingMode": spec.billing_mode,
    }
    if spec.provisioned_throughput is not None:
        request["ProvisionedThroughput"] = {
            "ReadCapacityUnits": spec.provisioned_throughput.read_capacity_units,
            "WriteCapacityUnits": spec.provisioned_throughput.write_capacity_units,
        }
    if spec.stream is not None:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": spec.stream.view_type}
    request.update(manifest_indexes.manifest_indexes(spec, request["AttributeDefinitions"]))
    return request


def with_ttl_attribute(description: dict[str, Any], attribute: str | None) -> dict[str, Any]:
    out = dict(description)
    if attribute:
        out["TimeToLiveDescription"] = {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}
    else:
        out["TimeToLiveDescription"] = {"TimeToLiveStatus": "DISABLED"}
    return out


def update_description(description: dict[str, Any], request: dict[str, Any], *, now: float) -> dict[str, Any]:
    """The description after an UpdateTable request (billing mode, provisioned throughput, GSIs, stream)."""
    if "GlobalSecondaryIndexUpdates" in request:
        description = index_descriptions.apply_index_updates(description, request)
        if not any(k in request for k in _UPDATABLE):
            return description
    if not any(k in request for k in _UPDATABLE):
        raise ValidationException(
            "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates "
            "or SSESpecification or ReplicaUpdates is required"
        )
    out = dict(description)
    current = description["BillingModeSummary"]["BillingMode"]
    mode, throughput = _billing(request, current)
    summary: dict[str, Any] = {"BillingMode": mode}
    if mode == "PAY_PER_REQUEST":
        summary["LastUpdateToPayPerRequestDateTime"] = (
            now if current != mode else description["BillingModeSummary"].get("LastUpdateToPayPerRequestDateTime", now)
        )
        out["ProvisionedThroughput"] = {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    elif throughput is not None:
        old = description.get("ProvisionedThroughput", {})
        if (
            current == "PROVISIONED"
            and "BillingMode" not in request
            and throughput["ReadCapacityUnits"] == old.get("ReadCapacityUnits")
            and throughput["WriteCapacityUnits"] == old.get("WriteCapacityUnits")
        ):
            raise ValidationException(
                "The provisioned throughput for the table will not change. The requested value equals the current "
                "value. Current ReadCapacityUnits provisioned for the table: "
                f"{old.get('ReadCapacityUnits')}. Requested ReadCapacityUnits: {throughput['ReadCapacityUnits']}. "
                f"Current WriteCapacityUnits provisioned for the table: {old.get('WriteCapacityUnits')}. "
                f"Requested WriteCapacityUnits: {throughput['WriteCapacityUnits']}. Refer to the Amazon DynamoDB "
                "Developer Guide for current limits and how to request higher limits."
            )
        out["ProvisionedThroughput"] = {"NumberOfDecreasesToday": 0, **throughput, "LastIncreaseDateTime": now}
    out["BillingModeSummary"] = summary
    if isinstance(request.get("DeletionProtectionEnabled"), bool):
        out["DeletionProtectionEnabled"] = request["DeletionProtectionEnabled"]
    if "StreamSpecification" in request:
        out = streams.on_update(out, request["StreamSpecification"], now)
    return out


def ttl_update(description: dict[str, Any], spec: Any) -> dict[str, Any]:
    """The description after an UpdateTimeToLive ``TimeToLiveSpecification``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("Enabled"), bool):
        raise ValidationException(
            "1 validation error detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy "
            "constraint: Member must not be null"
        )
    attribute = spec.get("AttributeName")
    if not isinstance(attribute, str) or not 1 <= len(attribute) <= 255:
        raise ValidationException(
            "1 validation error detected: Value null at 'timeToLiveSpecification.attributeName' failed to satisfy "
            "constraint: Member must not be null"
        )
    current = description.get("TimeToLiveDescription", {})
    enabled = current.get("TimeToLiveStatus") == "ENABLED"
    if spec["Enabled"] and enabled:
        raise ValidationException("TimeToLive is already enabled")
    if not spec["Enabled"] and not enabled:
        raise ValidationException("TimeToLive is already disabled")
    if not spec["Enabled"] and current.get("AttributeName") != attribute:
        raise ValidationException("The attribute name is different from the one in the current TimeToLive setting")
    return with_ttl_attribute(description, attribute if spec["Enabled"] else None)


def public_description(description: dict[str, Any]) -> dict[str, Any]:
    """What clients see: the stored description without Kumo's routing fields."""
    return {k: v for k, v in description.items() if k not in _INTERNAL}


def partition_description(description: dict[str, Any], index: int) -> dict[str, Any]:
    """The body of ``PUT /table`` for partition ``index``."""
    return {**description, "PartitionIndex": index}
