"""Table management and protocol errors through boto3 against ``kumo up``."""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError


def error_code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_manifest_tables_are_listed_and_described(ddb):
    names = ddb.list_tables()["TableNames"]
    assert {"items", "events", "blobs", "tiny"} <= set(names)
    table = ddb.describe_table(TableName="events")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["TableArn"] == "arn:aws:dynamodb:us-east-1:000000000000:table/events"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "SlotMap" not in table and "PartitionCount" not in table
    tiny = ddb.describe_table(TableName="tiny")["Table"]
    assert tiny["ProvisionedThroughput"]["ReadCapacityUnits"] == 1
    ttl = ddb.describe_time_to_live(TableName="events")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}


def test_create_use_update_delete_table(ddb, ddb_resource):
    ddb.create_table(
        TableName="adhoc.table-1",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "N"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        Tags=[{"Key": "kumo:partitions", "Value": "2"}],
    )
    ddb.get_waiter("table_exists").wait(TableName="adhoc.table-1", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    table = ddb_resource.Table("adhoc.table-1")
    for k in range(10):
        table.put_item(Item={"k": k, "v": "x"})
    described = ddb.describe_table(TableName="adhoc.table-1")["Table"]
    assert described["ItemCount"] == 10
    assert described["CreationDateTime"].year >= 2024
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName="adhoc.table-1",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert error_code(exc) == "ResourceInUseException"

    updated = ddb.update_table(
        TableName="adhoc.table-1", ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 9}
    )["TableDescription"]
    assert updated["ProvisionedThroughput"]["WriteCapacityUnits"] == 9
    updated = ddb.update_table(TableName="adhoc.table-1", BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert updated["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName="adhoc.table-1")
    assert error_code(exc) == "ValidationException"

    spec = {"Enabled": True, "AttributeName": "ttl"}
    assert (
        ddb.update_time_to_live(TableName="adhoc.table-1", TimeToLiveSpecification=spec)["TimeToLiveSpecification"]
        == spec
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName="adhoc.table-1", TimeToLiveSpecification=spec)
    assert error_code(exc) == "ValidationException"
    assert (
        ddb.describe_time_to_live(TableName="adhoc.table-1")["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    )

    deleted = ddb.delete_table(TableName="adhoc.table-1")["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName="adhoc.table-1", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert "adhoc.table-1" not in ddb.list_tables()["TableNames"]
    with pytest.raises(ClientError) as exc:
        table.get_item(Key={"k": 1})
    assert error_code(exc) == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"TableName": "ab"},
        {"TableName": "bad name!"},
        {"KeySchema": [{"AttributeName": "k", "KeyType": "RANGE"}]},
        {"AttributeDefinitions": [{"AttributeName": "other", "AttributeType": "S"}]},
        {
            "AttributeDefinitions": [
                {"AttributeName": "k", "AttributeType": "S"},
                {"AttributeName": "extra", "AttributeType": "S"},
            ]
        },
        {"BillingMode": "PROVISIONED"},
        {"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
    ],
)
def test_create_table_validation(ddb, kwargs):
    request = {
        "TableName": "valid-name",
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
        **kwargs,
    }
    if "ProvisionedThroughput" in kwargs:
        request["BillingMode"] = "PAY_PER_REQUEST"
    if kwargs.get("BillingMode") == "PROVISIONED":
        request.pop("ProvisionedThroughput", None)
    with pytest.raises(ClientError) as exc:
        ddb.create_table(**request)
    assert error_code(exc) == "ValidationException"
    assert "valid-name" not in ddb.list_tables()["TableNames"]


def test_list_tables_pagination(ddb):
    names: list[str] = []
    page = ddb.list_tables(Limit=1)
    names += page["TableNames"]
    for _ in range(20):
        if "LastEvaluatedTableName" not in page:
            break
        page = ddb.list_tables(Limit=1, ExclusiveStartTableName=page["LastEvaluatedTableName"])
        names += page["TableNames"]
    assert names == sorted(ddb.list_tables()["TableNames"])
    assert len(names) >= 4


def test_unknown_table_and_protocol_errors(tables_kumo, ddb):
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName="missing")
    assert error_code(exc) == "ResourceNotFoundException"
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    resp = httpx.post(
        tables_kumo.url + "/",
        content=b"{}",
        headers={**headers, "X-Amz-Target": "DynamoDB_20120810.Nope"},
        auth=tables_kumo.auth("dynamodb"),
    )
    assert resp.status_code == 400
    assert resp.json()["__type"].endswith("#UnknownOperationException")
    resp = httpx.post(
        tables_kumo.url + "/",
        content=b"{not json",
        headers={**headers, "X-Amz-Target": "DynamoDB_20120810.GetItem"},
        auth=tables_kumo.auth("dynamodb"),
    )
    assert resp.status_code == 400
    assert resp.json()["__type"].endswith("#SerializationException")
    resp = httpx.post(
        tables_kumo.url + "/",
        content=b'{"TableName": "missing", "Key": {"id": {"S": "x"}}}',
        headers={**headers, "X-Amz-Target": "DynamoDB_20120810.GetItem"},
        auth=tables_kumo.auth("dynamodb"),
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "message": "Requested resource not found",
    }
