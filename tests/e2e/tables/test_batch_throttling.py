"""Throttled batches through boto3 and ``kumo up``: partial UnprocessedItems/UnprocessedKeys, as DynamoDB.

A provisioned bucket starts full with 300 s of burst, so each test first drains it with large items
(exact costs: 1 KB write units, 4 KB read units) down to about one unit, then sends 25 one-unit
requests: some are processed, the rest come back unprocessed while the bucket refills (5 units/s).
"""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from tables_support import clients

from kumo_tablestore.keys import encode_value
from kumo_tablestore.partitioning import SlotMap

#: Item sizes (bytes, names included) of exact costs: 400 / 299 write units; 100 / 99 consistent read units.
W400, W299, R99 = 409_000, 306_000, 405_000
ROUNDS = 200  # bound of every resend loop (sleeping 0.1 s: ~20 s at most)


def create(ddb, name: str, rcu: int, wcu: int, partitions: int = 1) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
        Tags=[{"Key": "kumo:partitions", "Value": str(partitions)}],
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def padded(key: str, size: int) -> dict:
    """An item of exactly ``size`` bytes as DynamoDB counts them (attribute names + values)."""
    return {"id": {"S": key}, "d": {"S": "x" * (size - len("id") - len(key) - len("d"))}}


def put_costing(ddb, table: str, key: str, size: int) -> float:
    out = ddb.put_item(TableName=table, Item=padded(key, size), ReturnConsumedCapacity="TOTAL")
    return out["ConsumedCapacity"]["CapacityUnits"]


def small_puts(prefix: str, n: int = 25) -> list[dict]:
    return [{"PutRequest": {"Item": {"id": {"S": f"{prefix}{i:02}"}, "v": {"S": f"{prefix}{i:02}"}}}} for i in range(n)]


def resend_writes(ddb, table: str, requests: list[dict]) -> int:
    """Resend ``requests`` until none is left unprocessed (throttled calls are retried); returns the calls."""
    for calls in range(ROUNDS):
        if not requests:
            return calls
        try:
            requests = ddb.batch_write_item(RequestItems={table: requests})["UnprocessedItems"].get(table, [])
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        time.sleep(0.1)
    raise AssertionError(f"{len(requests)} writes still unprocessed")


def retrying_resource(kumo):
    """A resource whose client retries throttling errors (as boto3 does by default)."""
    config = Config(retries={"max_attempts": 10, "mode": "legacy"})
    return boto3.resource(
        "dynamodb",
        endpoint_url=kumo.url,
        region_name="us-east-1",
        aws_access_key_id=kumo.key.access_key_id,
        aws_secret_access_key=kumo.key.secret_access_key,
        config=config,
    )


def partition_of(key: str, partitions: int) -> int:
    return SlotMap.even(partitions).partition_of(encode_value({"S": key}))


@pytest.fixture(scope="module")
def ddb(tables_kumo):
    return clients(tables_kumo)[0]  # one attempt: throttling errors reach the test


def test_batch_write_partial_then_resent_and_batch_writer(tables_kumo, ddb):
    create(ddb, "throttled-writes", rcu=50, wcu=5)  # 1500 write units of burst
    drained = sum(put_costing(ddb, "throttled-writes", f"big{i}", W400) for i in range(3))
    drained += put_costing(ddb, "throttled-writes", "big3", W299)
    assert drained == 1499  # one unit left (plus what refilled meanwhile)

    requests = small_puts("k")
    out = ddb.batch_write_item(RequestItems={"throttled-writes": requests}, ReturnConsumedCapacity="TOTAL")
    left = out["UnprocessedItems"]["throttled-writes"]
    assert 0 < len(left) < 25
    assert left == requests[25 - len(left) :]  # the request's own shape, ready to resend
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 25 - len(left)  # only what was processed
    assert resend_writes(ddb, "throttled-writes", left) >= 1

    # The bucket is empty again: boto3's batch_writer resends UnprocessedItems itself.
    resource = retrying_resource(tables_kumo)
    answers: list[dict] = []
    resource.meta.client.meta.events.register(
        "after-call.dynamodb.BatchWriteItem", lambda parsed, **_: answers.append(parsed)
    )
    with resource.Table("throttled-writes").batch_writer() as batch:
        for request in small_puts("w"):
            batch.put_item(Item={k: v["S"] for k, v in request["PutRequest"]["Item"].items()})
    assert any(a.get("UnprocessedItems") for a in answers)

    for prefix in ("k", "w"):
        keys = [{"id": {"S": f"{prefix}{i:02}"}} for i in range(25)]
        got = [ddb.get_item(TableName="throttled-writes", Key=k, ConsistentRead=True)["Item"] for k in keys]
        assert [g["v"]["S"] for g in got] == [f"{prefix}{i:02}" for i in range(25)]
    pages = ddb.get_paginator("scan").paginate(TableName="throttled-writes", Select="COUNT")
    assert sum(page["Count"] for page in pages) == 54  # each item once


def test_batch_get_partial_then_resent(ddb):
    create(ddb, "throttled-reads", rcu=5, wcu=50)  # 1500 read units of burst
    ddb.put_item(TableName="throttled-reads", Item=padded("big", W400))
    ddb.put_item(TableName="throttled-reads", Item=padded("mid", R99))
    assert ddb.batch_write_item(RequestItems={"throttled-reads": small_puts("k")})["UnprocessedItems"] == {}
    drained = 0.0
    for key in ["big"] * 14 + ["mid"]:
        got = ddb.get_item(
            TableName="throttled-reads", Key={"id": {"S": key}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
        )
        drained += got["ConsumedCapacity"]["CapacityUnits"]
    assert drained == 1499  # one unit left (plus what refilled meanwhile)

    keys = [{"id": {"S": f"k{i:02}"}} for i in range(25)]  # one consistent read unit each
    spec = {"ConsistentRead": True, "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}
    out = ddb.batch_get_item(RequestItems={"throttled-reads": {**spec, "Keys": keys}}, ReturnConsumedCapacity="TOTAL")
    found = out["Responses"]["throttled-reads"]
    left = out["UnprocessedKeys"]["throttled-reads"]
    assert 0 < len(left["Keys"]) < 25
    assert left == {**spec, "Keys": keys[25 - len(left["Keys"]) :]}  # with the table's settings
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 25 - len(left["Keys"])
    for _ in range(ROUNDS):
        if not left:
            break
        time.sleep(0.1)
        try:
            out = ddb.batch_get_item(RequestItems={"throttled-reads": left})
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            continue
        found += out["Responses"]["throttled-reads"]
        left = out["UnprocessedKeys"].get("throttled-reads")
    assert not left
    assert sorted(i["v"]["S"] for i in found) == [f"k{i:02}" for i in range(25)]  # each item exactly once
    assert all(set(i) == {"v"} for i in found)


def test_throttled_partition_share_is_unprocessed_and_all_throttled_fails(ddb):
    create(ddb, "throttled-shares", rcu=1, wcu=1, partitions=2)  # per partition: 0.5 units/s, 150 of burst
    names = [f"s{i:02}" for i in range(25)]
    big = {p: next(f"big{i}" for i in range(100) if partition_of(f"big{i}", 2) == p) for p in (0, 1)}
    on_0 = [n for n in names if partition_of(n, 2) == 0]
    assert 0 < len(on_0) < 25
    ddb.put_item(TableName="throttled-shares", Item=padded(big[0], W400))  # partition 0: 250 units in debt

    requests = small_puts("s")
    out = ddb.batch_write_item(RequestItems={"throttled-shares": requests})
    assert out["UnprocessedItems"] == {
        "throttled-shares": [r for r in requests if r["PutRequest"]["Item"]["id"]["S"] in on_0]
    }

    ddb.put_item(TableName="throttled-shares", Item=padded(big[1], W400))  # partition 1 in debt too
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={"throttled-shares": small_puts("t")})
    assert exc.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    for key in (big[0], big[0], big[1], big[1]):  # 2 x 100 consistent read units each: 50 in debt
        ddb.get_item(TableName="throttled-shares", Key={"id": {"S": key}}, ConsistentRead=True)
    keys = [{"id": {"S": n}} for n in names]
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={"throttled-shares": {"Keys": keys}})
    assert exc.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert ddb.describe_table(TableName="throttled-shares")["Table"]["ItemCount"] == 2 + 25 - len(on_0)
