"""Item operations through boto3 (client and resource) against real partition processes."""

from __future__ import annotations

import base64
import threading
import uuid
from decimal import Decimal

import boto3
import httpx
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def uid() -> str:
    return uuid.uuid4().hex


def test_crud_with_client(ddb):
    key = {"id": {"S": uid()}}
    ddb.put_item(TableName="items", Item={**key, "n": {"N": "1"}, "tags": {"SS": ["a", "b"]}})
    assert ddb.get_item(TableName="items", Key=key)["Item"]["n"] == {"N": "1"}
    out = ddb.update_item(
        TableName="items",
        Key=key,
        UpdateExpression="SET #s = :s ADD n :one REMOVE tags",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "done"}, ":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"] == {**key, "n": {"N": "2"}, "status": {"S": "done"}}
    old = ddb.delete_item(TableName="items", Key=key, ReturnValues="ALL_OLD")["Attributes"]
    assert old["status"] == {"S": "done"}
    assert "Item" not in ddb.get_item(TableName="items", Key=key)


def test_crud_with_resource(ddb_resource):
    table = ddb_resource.Table("events")
    pk = uid()
    for sk in (3, -1, 0.5, 10, -2.25):
        table.put_item(Item={"pk": pk, "sk": Decimal(str(sk)), "v": f"v{sk}"})
    items = table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
    assert [i["sk"] for i in items] == [Decimal("-2.25"), Decimal("-1"), Decimal("0.5"), Decimal("3"), Decimal("10")]
    items = table.query(KeyConditionExpression=Key("pk").eq(pk) & Key("sk").between(0, 5), ScanIndexForward=False)[
        "Items"
    ]
    assert [i["sk"] for i in items] == [Decimal("3"), Decimal("0.5")]
    filtered = table.query(KeyConditionExpression=Key("pk").eq(pk), FilterExpression=Attr("v").eq("v10"))
    assert filtered["Count"] == 1 and filtered["ScannedCount"] == 5


def test_binary_keys_sort_bytewise(ddb_resource):
    table = ddb_resource.Table("blobs")
    pk = uuid.uuid4().bytes
    values = [b"\xff", b"\x00", b"\x00\x01", b"a", b"\x7f\xff"]
    for sk in values:
        table.put_item(Item={"pk": pk, "sk": sk})
    items = table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
    assert [bytes(i["sk"].value) for i in items] == sorted(values)


def test_number_precision(ddb_resource, ddb):
    table = ddb_resource.Table("items")
    key = {"id": uid()}
    table.put_item(Item={**key, "x": Decimal("0.1")})
    out = table.update_item(
        Key=key, UpdateExpression="ADD x :v", ExpressionAttributeValues={":v": Decimal("0.2")}, ReturnValues="ALL_NEW"
    )
    assert out["Attributes"]["x"] == Decimal("0.3")
    big = "1234567890123456789012345678901234567.8"  # 38 digits
    ddb.put_item(TableName="items", Item={"id": {"S": key["id"]}, "big": {"N": big}, "neg": {"N": "-" + big}})
    item = ddb.get_item(TableName="items", Key={"id": {"S": key["id"]}})["Item"]
    assert item["big"]["N"] == big and item["neg"]["N"] == "-" + big
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName="items", Item={"id": {"S": uid()}, "n": {"N": "1" * 39}})
    assert code(exc) == "ValidationException"


def test_expression_edge_cases(ddb_resource, ddb):
    table = ddb_resource.Table("items")
    key = {"id": uid()}
    table.put_item(Item={**key, "size": 5, "a": 1, "b": 2, "name": "x"})
    with pytest.raises(ClientError) as exc:  # reserved word without #name
        table.update_item(Key=key, UpdateExpression="SET size = :v", ExpressionAttributeValues={":v": 1})
    assert code(exc) == "ValidationException" and "reserved keyword" in str(exc.value)
    table.update_item(
        Key=key,
        UpdateExpression="SET #s = :v",
        ExpressionAttributeNames={"#s": "size"},
        ExpressionAttributeValues={":v": 6},
    )
    with pytest.raises(ClientError) as exc:  # condition on a missing attribute
        table.put_item(Item={**key}, ConditionExpression="absent_attr = :v", ExpressionAttributeValues={":v": 1})
    assert code(exc) == "ConditionalCheckFailedException", str(exc.value)
    with pytest.raises(ClientError) as exc:  # type mismatch in arithmetic
        table.update_item(
            Key=key,
            UpdateExpression="SET a = #n + :one",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":one": 1},
        )
    assert code(exc) == "ValidationException"
    # precedence: NOT binds tighter than AND, AND tighter than OR
    ok = "a = :one OR a = :two AND b = :three"  # a=1 -> true by the OR's left side
    table.put_item(
        Item={**key, "a": 1, "b": 2},
        ConditionExpression=ok,
        ExpressionAttributeValues={":one": 1, ":two": 2, ":three": 3},
    )
    with pytest.raises(ClientError) as exc:
        table.put_item(
            Item={**key, "a": 1, "b": 2},
            ConditionExpression="(a = :one OR a = :two) AND b = :three",
            ExpressionAttributeValues={":one": 1, ":two": 2, ":three": 3},
        )
    assert code(exc) == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as exc:  # legacy parameters are refused
        ddb.get_item(TableName="items", Key={"id": {"S": key["id"]}}, AttributesToGet=["a"])
    assert code(exc) == "ValidationException"


def test_item_size_limit(ddb_resource):
    table = ddb_resource.Table("items")
    table.put_item(Item={"id": uid(), "blob": "x" * (400 * 1024 - 100)})
    with pytest.raises(ClientError) as exc:
        table.put_item(Item={"id": uid(), "blob": "x" * (400 * 1024 + 1)})
    assert code(exc) == "ValidationException"


def test_key_errors_from_the_router(ddb):
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName="items", Item={"other": {"S": "x"}})
    assert code(exc) == "ValidationException" and "Missing the key id" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName="items", Item={"id": {"N": "1"}})
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName="items", Key={"id": {"N": "1"}})
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName="items", KeyConditionExpression="other = :v", ExpressionAttributeValues={":v": {"S": "x"}})
    assert code(exc) == "ValidationException"


def test_optimistic_locking_under_concurrent_writers(tables_kumo):
    key = {"id": uid()}
    ddb_resource = boto3.resource(
        "dynamodb",
        endpoint_url=tables_kumo.url,
        region_name="us-east-1",
        aws_access_key_id=tables_kumo.key.access_key_id,
        aws_secret_access_key=tables_kumo.key.secret_access_key,
        config=Config(max_pool_connections=16, retries={"max_attempts": 1}),
    )
    table = ddb_resource.Table("items")
    table.put_item(Item={**key, "version": 0, "count": 0})
    writers, increments = 6, 10
    conflicts = [0] * writers

    def writer(w: int) -> None:
        done = 0
        for _ in range(500):  # bounded retries
            if done == increments:
                return
            item = table.get_item(Key=key, ConsistentRead=True)["Item"]
            try:
                table.put_item(
                    Item={**key, "version": item["version"] + 1, "count": item["count"] + 1},
                    ConditionExpression="version = :v",
                    ExpressionAttributeValues={":v": item["version"]},
                )
                done += 1
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
                conflicts[w] += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    final = table.get_item(Key=key, ConsistentRead=True)["Item"]
    assert final["count"] == writers * increments
    assert final["version"] == writers * increments


def test_batch_operations_across_partitions(ddb_resource, ddb):
    ids = [uid() for _ in range(25)]
    out = ddb.batch_write_item(
        RequestItems={"items": [{"PutRequest": {"Item": {"id": {"S": i}, "n": {"N": "1"}}}} for i in ids]},
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["UnprocessedItems"] == {}
    assert [(c["TableName"], c["CapacityUnits"]) for c in out["ConsumedCapacity"]] == [("items", 25.0)]
    got = ddb.batch_get_item(
        RequestItems={"items": {"Keys": [{"id": {"S": i}} for i in ids] + [{"id": {"S": "absent"}}]}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert sorted(i["id"]["S"] for i in got["Responses"]["items"]) == sorted(ids)
    assert got["UnprocessedKeys"] == {}
    assert got["ConsumedCapacity"][0]["CapacityUnits"] == pytest.approx(13.0)
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(
            RequestItems={"items": [{"PutRequest": {"Item": {"id": {"S": i}}}} for i in [*ids, uid()]]}
        )
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(
            RequestItems={
                "items": [
                    {"PutRequest": {"Item": {"id": {"S": "dup"}}}},
                    {"DeleteRequest": {"Key": {"id": {"S": "dup"}}}},
                ]
            }
        )
    assert "duplicates" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={"items": {"Keys": [{"id": {"S": "a"}}, {"id": {"S": "a"}}]}})
    assert "duplicates" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={"items": {"Keys": [{"id": {"S": str(i)}} for i in range(101)]}})
    assert code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={"nosuchtable": {"Keys": [{"id": {"S": "a"}}]}})
    assert code(exc) == "ResourceNotFoundException"
    table = ddb_resource.Table("items")
    with table.batch_writer() as batch:
        for i in ids:
            batch.delete_item(Key={"id": i})
    got = ddb.batch_get_item(RequestItems={"items": {"Keys": [{"id": {"S": i}} for i in ids]}})
    assert got["Responses"]["items"] == []


def test_throughput_exceeded_and_default_retries(tables_kumo):
    fail_fast, _ = _client(tables_kumo, 1)
    codes = set()
    for i in range(2000):  # 1 WCU (300 units of burst): a burst of 1 KB writes is throttled, bounded
        try:
            fail_fast.put_item(TableName="tiny", Item={"id": {"S": f"k{i}"}, "pad": {"S": "x" * 900}})
        except ClientError as exc:
            codes.add(exc.response["Error"]["Code"])
            break
    assert codes == {"ProvisionedThroughputExceededException"}
    patient, _ = _client(tables_kumo, None)
    for _ in range(5):  # standard mode makes 3 attempts with random backoff; the debt is at most 1 s of refill
        try:
            patient.put_item(TableName="tiny", Item={"id": {"S": "after"}})
            break
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert patient.get_item(TableName="tiny", Key={"id": {"S": "after"}})["Item"]["id"] == {"S": "after"}


def _client(kumo, attempts: int | None):
    config = Config(retries={"max_attempts": attempts}) if attempts else Config()
    return boto3.client(
        "dynamodb",
        endpoint_url=kumo.url,
        region_name="us-east-1",
        aws_access_key_id=kumo.key.access_key_id,
        aws_secret_access_key=kumo.key.secret_access_key,
        config=config,
    ), None


def test_binary_values_round_trip(ddb):
    raw = bytes(range(256))
    ddb.put_item(TableName="items", Item={"id": {"S": "bin"}, "b": {"B": raw}})
    assert ddb.get_item(TableName="items", Key={"id": {"S": "bin"}})["Item"]["b"]["B"] == raw
    assert base64.b64encode(raw)  # sanity: boto3 handles the base64 on the wire


def test_return_item_collection_metrics(ddb):
    """Accepted as SIZE or NONE; no table has local secondary indexes, so no metrics come back (as on AWS)."""
    key = {"id": {"S": uid()}}
    out = ddb.put_item(TableName="items", Item={**key, "n": {"N": "1"}}, ReturnItemCollectionMetrics="SIZE")
    assert "ItemCollectionMetrics" not in out
    out = ddb.delete_item(TableName="items", Key=key, ReturnItemCollectionMetrics="NONE")
    assert "ItemCollectionMetrics" not in out
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName="items",
            Key=key,
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "2"}},
            ReturnItemCollectionMetrics="ALL",
        )
    assert code(exc) == "ValidationException"
    assert "returnItemCollectionMetrics" in exc.value.response["Error"]["Message"]
    assert "Item" not in ddb.get_item(TableName="items", Key=key)  # nothing written by the refused call


def test_unpaired_surrogate_is_a_serialization_error(tables_kumo, ddb):
    """Valid JSON, invalid text: refused with DynamoDB's SerializationException, not a 500; nothing stored."""
    url = tables_kumo.url
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    body = b'{"TableName":"items","Item":{"id":{"S":"surrogate"},"v":{"S":"\\ud800"}}}'
    response = httpx.post(f"{url}/", content=body, headers=headers, timeout=10, auth=tables_kumo.auth("dynamodb"))
    assert response.status_code == 400
    assert response.json()["__type"].endswith("#SerializationException")
    assert "Item" not in ddb.get_item(TableName="items", Key={"id": {"S": "surrogate"}})
