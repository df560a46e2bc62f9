"""`AWS::Serverless::SimpleTable` and `AWS::DynamoDB::Table` -> Kumo `Table` (pure)."""

from __future__ import annotations

from typing import Any

from kumo.sam.loader import TemplateError
from kumo.sam.state import Resource, as_int

_SIMPLE_TYPES = {"String": "S", "Number": "N", "Binary": "B"}
SIMPLE_HANDLED = {"TableName", "PrimaryKey", "ProvisionedThroughput", "Tags", "SSESpecification"}
TABLE_HANDLED = {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput"}
TABLE_HANDLED |= {"TimeToLiveSpecification", "StreamSpecification", "Tags", "SSESpecification", "TableClass"}
TABLE_HANDLED |= {"DeletionProtectionEnabled", "PointInTimeRecoverySpecification"}
REASONS = {
    "GlobalSecondaryIndexes": "Kumo tables have no secondary indexes yet",
    "LocalSecondaryIndexes": "Kumo tables have no secondary indexes yet",
    "KinesisStreamSpecification": "Kumo has no Kinesis streams",
    "ImportSourceSpecification": "Kumo cannot import from S3",
    "ContributorInsightsSpecification": "Kumo has no Contributor Insights",
}


def _throughput(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise TemplateError("ProvisionedThroughput must be a mapping")
    return {
        "readCapacityUnits": as_int(value.get("ReadCapacityUnits"), "ReadCapacityUnits"),
        "writeCapacityUnits": as_int(value.get("WriteCapacityUnits"), "WriteCapacityUnits"),
    }


def map_simple_table(resource: Resource) -> None:
    build = resource.build
    key = resource.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kind = _SIMPLE_TYPES.get(str(key.get("Type", "String")))
    if kind is None:
        raise TemplateError(f"{resource.logical_id}.PrimaryKey.Type must be String, Number or Binary")
    spec: dict[str, Any] = {"partitionKey": {"name": str(key.get("Name", "id")), "type": kind}}
    throughput = resource.get("ProvisionedThroughput")
    if throughput is not None:
        spec["billingMode"] = "PROVISIONED"
        spec["provisionedThroughput"] = _throughput(throughput)
    resource.report_unknown(SIMPLE_HANDLED, REASONS)
    build.manifest("Table", build.names.names[resource.logical_id], spec)


def map_dynamodb_table(resource: Resource) -> None:
    build = resource.build
    types = {d["AttributeName"]: d["AttributeType"] for d in resource.get("AttributeDefinitions") or []}
    spec: dict[str, Any] = {}
    for element in resource.get("KeySchema") or []:
        name = element.get("AttributeName")
        if name not in types:
            raise TemplateError(f"{resource.logical_id}: key {name!r} is not in AttributeDefinitions")
        role = {"HASH": "partitionKey", "RANGE": "sortKey"}.get(element.get("KeyType"))
        if role is None:
            raise TemplateError(f"{resource.logical_id}: KeyType must be HASH or RANGE")
        spec[role] = {"name": name, "type": types[name]}
    if "partitionKey" not in spec:
        raise TemplateError(f"{resource.logical_id}: KeySchema needs a HASH key")
    billing = resource.get("BillingMode", "PROVISIONED")
    throughput = resource.get("ProvisionedThroughput")
    if billing == "PROVISIONED" and throughput is not None:
        spec["billingMode"] = "PROVISIONED"
        spec["provisionedThroughput"] = _throughput(throughput)
    ttl = resource.get("TimeToLiveSpecification")
    if isinstance(ttl, dict) and ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
        spec["ttlAttribute"] = str(ttl["AttributeName"])
    stream = resource.get("StreamSpecification")
    if isinstance(stream, dict) and stream.get("StreamViewType"):
        spec["stream"] = {"viewType": str(stream["StreamViewType"])}
    resource.report_unknown(TABLE_HANDLED, REASONS)
    build.manifest("Table", build.names.names[resource.logical_id], spec)
