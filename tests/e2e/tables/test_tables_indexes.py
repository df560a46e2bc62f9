"""Secondary indexes against ``kumo up``: a 3-partition table with a GSI and an LSI, boto3 and PynamoDB."""

from __future__ import annotations

import time
import uuid

import pytest
from botocore.exceptions import ClientError
from support import wait_until
from tables_support import clients, partition_pids, start_kumo

TABLE = "orders-idx"


def _create(ddb, name: str = TABLE) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "amount", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "kumo:partitions", "Value": "3"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-customer",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "amount", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


@pytest.fixture(scope="module")
def idx_kumo(tmp_path_factory):
    up = start_kumo(tmp_path_factory.mktemp("kumo-indexes"), [])  # tables made with CreateTable
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def ddb(idx_kumo):
    return clients(idx_kumo)[0]


@pytest.fixture(scope="module")
def orders(ddb):
    _create(ddb)
    return TABLE


def _gsi_query(ddb, customer: str, **extra) -> list[dict]:
    items, start = [], None
    for _ in range(100):
        page = ddb.query(
            TableName=TABLE,
            IndexName="by-customer",
            KeyConditionExpression="customer = :c",
            ExpressionAttributeValues={":c": {"S": customer}},
            **({"ExclusiveStartKey": start} if start else {}),
            **extra,
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items
    raise AssertionError("pagination did not end")


def test_gsi_query_sparse_projection_and_pages(ddb, orders):
    customer = "c-" + uuid.uuid4().hex
    for i in range(30):
        item = {"pk": {"S": f"order-{customer}-{i}"}, "sk": {"N": str(i)}, "note": {"S": f"n{i}"}, "big": {"S": "x"}}
        if i % 3:  # sparse: a third of the orders have no customer and are not in the index
            item.update(customer={"S": customer}, amount={"N": str(100 - i)})
        ddb.put_item(TableName=TABLE, Item=item)
    expected = sorted(100 - i for i in range(30) if i % 3)
    wait_until(lambda: len(_gsi_query(ddb, customer)) == 20, timeout=10, interval=0.05, what="the GSI to catch up")
    items = _gsi_query(ddb, customer, Limit=3)
    assert [int(i["amount"]["N"]) for i in items] == expected  # sorted by the index sort key, each once
    assert set(items[0]) == {"pk", "sk", "customer", "amount", "note"}  # INCLUDE: keys + note, not big
    page = ddb.query(
        TableName=TABLE,
        IndexName="by-customer",
        KeyConditionExpression="customer = :c AND amount BETWEEN :a AND :b",
        ExpressionAttributeValues={":c": {"S": customer}, ":a": {"N": "80"}, ":b": {"N": "90"}},
        ScanIndexForward=False,
        Limit=2,
    )
    assert [int(i["amount"]["N"]) for i in page["Items"]] == [90, 89]
    assert set(page["LastEvaluatedKey"]) == {"pk", "sk", "customer", "amount"}
    # An update moves the entry; a delete removes it.
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"order-{customer}-1"}, "sk": {"N": "1"}},
        UpdateExpression="SET amount = :t",
        ExpressionAttributeValues={":t": {"N": "1000"}},
    )
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": f"order-{customer}-2"}, "sk": {"N": "2"}})
    want = sorted([t for t in expected if t not in (99, 98)] + [1000])
    wait_until(
        lambda: [int(i["amount"]["N"]) for i in _gsi_query(ddb, customer)] == want,
        timeout=10,
        interval=0.05,
        what="the update and delete to reach the GSI",
    )


def test_index_errors_as_dynamodb(ddb, orders):
    def refused(**request) -> str:
        with pytest.raises(ClientError) as info:
            ddb.query(TableName=TABLE, **request)
        assert info.value.response["Error"]["Code"] == "ValidationException"
        return info.value.response["Error"]["Message"]

    cond = {"KeyConditionExpression": "customer = :c", "ExpressionAttributeValues": {":c": {"S": "x"}}}
    assert refused(IndexName="nope", **cond) == "The table does not have the specified index: nope"
    assert "Consistent reads are not supported" in refused(IndexName="by-customer", ConsistentRead=True, **cond)
    assert "ALL_ATTRIBUTES is not supported" in refused(IndexName="by-customer", Select="ALL_ATTRIBUTES", **cond)
    with pytest.raises(ClientError) as info:
        ddb.scan(TableName=TABLE, IndexName="missing")
    assert info.value.response["Error"]["Message"] == "The table does not have the specified index: missing"
    with pytest.raises(ClientError) as info:
        ddb.create_table(
            TableName="bad-lsi2",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "x", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            LocalSecondaryIndexes=[
                {
                    "IndexName": "lsi",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "x", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
    assert "does not have a range key" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        ddb.create_table(
            TableName="too-many-gsis",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": f"g{i:02d}",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for i in range(21)
            ],
        )
    assert "limit of 20" in info.value.response["Error"]["Message"]


def test_lsi_is_strongly_consistent_and_fetches_from_the_table(ddb, orders):
    pk = "lsi-" + uuid.uuid4().hex
    for i, status in enumerate(["shipped", "new", "paid", "new"]):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"N": str(i)}, "status": {"S": status}})
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"N": "9"}})  # no status: not in the LSI
    page = ddb.query(
        TableName=TABLE,
        IndexName="by-status",
        KeyConditionExpression="pk = :p AND begins_with(#s, :n)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":p": {"S": pk}, ":n": {"S": "n"}},
        ConsistentRead=True,
    )
    assert [(i["status"]["S"], i["sk"]["N"]) for i in page["Items"]] == [("new", "1"), ("new", "3")]
    everything = ddb.query(
        TableName=TABLE,
        IndexName="by-status",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": pk}},
        Select="ALL_ATTRIBUTES",
    )
    assert [i["status"]["S"] for i in everything["Items"]] == ["new", "new", "paid", "shipped"]


def test_describe_and_update_table_adds_a_gsi_with_backfill(ddb, orders):
    name = "backfill-" + uuid.uuid4().hex[:8]
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "kumo:partitions", "Value": "3"}],
    )
    for i in range(300):
        item = {"id": {"S": f"i{i}"}}
        if i % 2 == 0:
            item["color"] = {"S": ["red", "blue", "green"][i % 3]}
        ddb.put_item(TableName=name, Item=item)
    answer = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-color",
                    "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )["TableDescription"]
    assert answer["GlobalSecondaryIndexes"][0]["IndexName"] == "by-color"

    def status() -> dict:
        return ddb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"][0]

    wait_until(lambda: status()["IndexStatus"] == "ACTIVE", timeout=20, interval=0.1, what="the backfill")
    described = status()
    assert described["ItemCount"] == 150 and described["IndexSizeBytes"] > 0
    assert described["IndexArn"].endswith(f"table/{name}/index/by-color")
    reds = ddb.query(
        TableName=name,
        IndexName="by-color",
        KeyConditionExpression="color = :c",
        ExpressionAttributeValues={":c": {"S": "red"}},
    )["Items"]
    assert sorted(int(i["id"]["S"][1:]) for i in reds) == [i for i in range(0, 300, 2) if i % 3 == 0]
    scanned = ddb.get_paginator("scan").paginate(TableName=name, IndexName="by-color", PaginationConfig={"PageSize": 7})
    ids = [i["id"]["S"] for page in scanned for i in page["Items"]]
    assert sorted(ids) == sorted(f"i{i}" for i in range(0, 300, 2))  # every entry once across partitions
    deleting = ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-color"}}])
    assert deleting["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "DELETING"
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=name)["Table"]
    time.sleep(0.1)


def test_pynamodb_index_models(idx_kumo, ddb, orders):
    from pynamodb.attributes import NumberAttribute, UnicodeAttribute
    from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection, LocalSecondaryIndex
    from pynamodb.models import Model

    class ByCustomer(GlobalSecondaryIndex):
        class Meta:
            index_name = "by-customer"
            projection = IncludeProjection(["note"])

        customer = UnicodeAttribute(hash_key=True)
        amount = NumberAttribute(range_key=True)

    class ByStatus(LocalSecondaryIndex):
        class Meta:
            index_name = "by-status"
            projection = KeysOnlyProjection()

        pk = UnicodeAttribute(hash_key=True)
        status = UnicodeAttribute(range_key=True)

    class Order(Model):
        class Meta:
            table_name = TABLE
            host = idx_kumo.url
            region = "us-east-1"
            aws_access_key_id = idx_kumo.key.access_key_id
            aws_secret_access_key = idx_kumo.key.secret_access_key

        pk = UnicodeAttribute(hash_key=True)
        sk = NumberAttribute(range_key=True)
        customer = UnicodeAttribute(null=True)
        amount = NumberAttribute(null=True)
        status = UnicodeAttribute(null=True)
        note = UnicodeAttribute(null=True)
        by_customer = ByCustomer()
        by_status = ByStatus()

    who = "py-" + uuid.uuid4().hex
    for i in range(5):
        Order(f"{who}-o", i, customer=who, amount=10 * i, status=["a", "b"][i % 2], note=str(i)).save()
    assert [o.status for o in Order.by_status.query(f"{who}-o")] == ["a", "a", "a", "b", "b"]
    wait_until(lambda: len(list(Order.by_customer.query(who))) == 5, timeout=10, what="the GSI via PynamoDB")
    found = list(Order.by_customer.query(who, ByCustomer.amount > 15, scan_index_forward=False))
    assert [(o.amount, o.note) for o in found] == [(40, "4"), (30, "3"), (20, "2")]


def test_sigkill_of_a_partition_during_writes_leaves_the_gsi_exact(idx_kumo, ddb, orders):
    import os
    import signal
    import threading

    who = "kill-" + uuid.uuid4().hex
    acknowledged: dict[str, int] = {}
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set() and i < 400:
            key = f"{who}-{i % 60}"
            try:
                ddb.put_item(
                    TableName=TABLE,
                    Item={"pk": {"S": key}, "sk": {"N": "0"}, "customer": {"S": who}, "amount": {"N": str(i)}},
                )
                acknowledged[key] = i
            except ClientError:
                pass  # refused while the partition restarts: not acknowledged
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(1.0)
    pids = partition_pids(idx_kumo.state_dir, TABLE)
    os.kill(pids[1], signal.SIGKILL)
    thread.join(timeout=120)
    stop.set()

    def index_matches() -> bool:
        try:  # a partition still restarting answers 503: not yet
            got = {i["pk"]["S"]: int(i["amount"]["N"]) for i in _gsi_query(ddb, who)}
            table = {}
            for key in acknowledged:
                item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": key}, "sk": {"N": "0"}}, ConsistentRead=True)
                if "Item" in item:
                    table[key] = int(item["Item"]["amount"]["N"])
        except ClientError:
            return False
        return got == table and len(table) >= len(acknowledged)

    wait_until(index_matches, timeout=60, interval=0.5, what="the GSI to match the table after the restart")
