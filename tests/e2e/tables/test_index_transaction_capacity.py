"""Provisioned throughput of GSIs and transactions through boto3 and ``kumo up``, as DynamoDB charges it.

A GSI has its own buckets: a table write that changes its entries uses its write capacity (and is
refused with DynamoDB's GSI message when it has none left), a Query on it its read capacity.
Transactions cost twice the table's units and are cancelled with ``ProvisionedThroughputExceeded``
reasons when a table (or a GSI an action changes) is out of capacity. Buckets start full with 300 s
of burst, so each test drains one with a ~400 KB item (exact costs) into debt that lasts well beyond
the test at 1 unit/s, then checks what is refused and what still passes.
"""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

#: An item of 409,000 bytes (names included): 400 write units, 100 consistent / 50 eventual read units.
BIG = 409_000
WAIT_ROUNDS = 300  # bound of every wait loop (sleeping 0.1 s: ~30 s at most)
GSI_MESSAGE = (
    "The level of configured provisioned throughput for one or more global secondary indexes of the table was "
    "exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes "
    "with the UpdateTable API."
)
TABLE_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)


def create(ddb, name: str, rcu: int, wcu: int, gsi: tuple[int, int] | None = None) -> None:
    spec: dict = {}
    if gsi is not None:
        spec["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "byOwner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": gsi[0], "WriteCapacityUnits": gsi[1]},
            }
        ]
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            *([{"AttributeName": "owner", "AttributeType": "S"}] if gsi else []),
        ],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
        Tags=[{"Key": "kumo:partitions", "Value": "1"}],
        **spec,
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def big_item(key: str, **attrs: str) -> dict:
    """An item of exactly :data:`BIG` bytes as DynamoDB counts them."""
    extra = {k: {"S": v} for k, v in attrs.items()}
    used = len("id") + len(key) + len("d") + sum(len(k) + len(v) for k, v in attrs.items())
    return {"id": {"S": key}, **extra, "d": {"S": "x" * (BIG - used)}}


def cancellation(exc: pytest.ExceptionInfo[ClientError]) -> list[dict]:
    assert exc.value.response["Error"]["Code"] == "TransactionCanceledException"
    return exc.value.response["CancellationReasons"]


def test_gsi_write_capacity_throttles_table_writes(ddb):
    create(ddb, "gsi-writes", rcu=50, wcu=50, gsi=(50, 1))  # the GSI: 300 write units of burst
    out = ddb.put_item(TableName="gsi-writes", Item=big_item("a", owner="ann"), ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"] == {
        "TableName": "gsi-writes",
        "CapacityUnits": 800.0,
        "WriteCapacityUnits": 800.0,
        "Table": {"CapacityUnits": 400.0, "WriteCapacityUnits": 400.0},
        "GlobalSecondaryIndexes": {"byOwner": {"CapacityUnits": 400.0, "WriteCapacityUnits": 400.0}},
    }
    # The GSI is 100 units in debt; the table has 15,000 - 400 left.
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName="gsi-writes", Item={"id": {"S": "b"}, "owner": {"S": "bob"}})
    assert exc.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert exc.value.response["Error"]["Message"] == GSI_MESSAGE
    with pytest.raises(ClientError) as exc:  # removing the index key writes the GSI too
        ddb.update_item(
            TableName="gsi-writes",
            Key={"id": {"S": "a"}},
            UpdateExpression="REMOVE #o",
            ExpressionAttributeNames={"#o": "owner"},
        )
    assert exc.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert "b" not in [i["id"]["S"] for i in ddb.scan(TableName="gsi-writes", ConsistentRead=True)["Items"]]

    # A write that leaves the GSI alone is not throttled by it, and costs it nothing.
    out = ddb.put_item(TableName="gsi-writes", Item={"id": {"S": "c"}}, ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"] == {
        "TableName": "gsi-writes",
        "CapacityUnits": 1.0,
        "WriteCapacityUnits": 1.0,
        "Table": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0},
    }
    with pytest.raises(ClientError) as exc:  # a batch whose every request changes the GSI: refused
        ddb.batch_write_item(
            RequestItems={"gsi-writes": [{"PutRequest": {"Item": {"id": {"S": "d"}, "owner": {"S": "d"}}}}]}
        )
    assert exc.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"

    # In a batch, the first request that changes the GSI ends the processed prefix.
    batch = [
        {"PutRequest": {"Item": {"id": {"S": k}, **extra}}}
        for k, extra in (("e", {}), ("f", {"owner": {"S": "fay"}}), ("g", {}))
    ]
    out = ddb.batch_write_item(RequestItems={"gsi-writes": batch}, ReturnConsumedCapacity="TOTAL")
    assert out["UnprocessedItems"] == {"gsi-writes": batch[1:]}
    assert out["ConsumedCapacity"] == [{"TableName": "gsi-writes", "CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}]

    # More write capacity for the GSI (UpdateTable): the debt refills at 1000 units/s.
    ddb.update_table(
        TableName="gsi-writes",
        GlobalSecondaryIndexUpdates=[
            {
                "Update": {
                    "IndexName": "byOwner",
                    "ProvisionedThroughput": {"ReadCapacityUnits": 50, "WriteCapacityUnits": 1000},
                }
            }
        ],
    )
    described = ddb.describe_table(TableName="gsi-writes")["Table"]["GlobalSecondaryIndexes"][0]
    assert described["ProvisionedThroughput"]["WriteCapacityUnits"] == 1000
    for _ in range(WAIT_ROUNDS):
        try:
            ddb.put_item(TableName="gsi-writes", Item={"id": {"S": "b"}, "owner": {"S": "bob"}})
            break
        except ClientError as exc_:
            assert exc_.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            time.sleep(0.1)
    else:
        raise AssertionError("the write stayed throttled after the GSI's capacity was raised")


def test_gsi_query_reads_its_own_capacity(ddb):
    create(ddb, "gsi-reads", rcu=1, wcu=500, gsi=(1, 500))  # GSI and table: 300 read units of burst each
    ddb.put_item(TableName="gsi-reads", Item=big_item("a", owner="ann"))
    query = {
        "TableName": "gsi-reads",
        "IndexName": "byOwner",
        "KeyConditionExpression": "#o = :o",
        "ExpressionAttributeNames": {"#o": "owner"},
        "ExpressionAttributeValues": {":o": {"S": "ann"}},
        "ReturnConsumedCapacity": "INDEXES",
    }
    for _ in range(WAIT_ROUNDS):  # GSI entries follow the table's change log
        out = ddb.query(**query)
        if out["Count"]:
            break
        time.sleep(0.1)
    assert out["Count"] == 1
    assert out["ConsumedCapacity"] == {
        "TableName": "gsi-reads",
        "CapacityUnits": 50.0,
        "ReadCapacityUnits": 50.0,
        "Table": {"CapacityUnits": 0.0},
        "GlobalSecondaryIndexes": {"byOwner": {"CapacityUnits": 50.0, "ReadCapacityUnits": 50.0}},
    }
    served = 1
    for _ in range(10):  # 50 units each: a query is admitted while anything is left, then the bucket is in debt
        try:
            ddb.query(**query)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            break
        served += 1
    else:
        raise AssertionError("the GSI's reads were never throttled")
    assert 5 <= served <= 7  # 300 / 50, give or take the waits' half units and one admitted on what refilled
    # The table's own read capacity is untouched by the GSI's reads.
    got = ddb.get_item(
        TableName="gsi-reads", Key={"id": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )
    assert got["ConsumedCapacity"]["CapacityUnits"] == 100.0


def test_transactions_report_doubled_units_per_table_and_index(ddb):
    create(ddb, "txn-units", rcu=500, wcu=500, gsi=(500, 500))
    create(ddb, "txn-units-plain", rcu=500, wcu=500)
    out = ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "txn-units", "Item": {"id": {"S": "a"}, "owner": {"S": "ann"}}}},
            {"Put": {"TableName": "txn-units", "Item": {"id": {"S": "b"}}}},
            {"Put": {"TableName": "txn-units-plain", "Item": {"id": {"S": "c"}, "d": {"S": "x" * 1500}}}},
        ],
        ReturnConsumedCapacity="INDEXES",
    )
    assert out["ConsumedCapacity"] == [
        {
            "TableName": "txn-units",
            "CapacityUnits": 5.0,
            "WriteCapacityUnits": 5.0,
            "Table": {"CapacityUnits": 4.0, "WriteCapacityUnits": 4.0},
            "GlobalSecondaryIndexes": {"byOwner": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}},
        },
        {
            "TableName": "txn-units-plain",
            "CapacityUnits": 4.0,
            "WriteCapacityUnits": 4.0,
            "Table": {"CapacityUnits": 4.0, "WriteCapacityUnits": 4.0},
        },
    ]
    out = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": "txn-units", "Key": {"id": {"S": "a"}}}},
            {"Get": {"TableName": "txn-units-plain", "Key": {"id": {"S": "c"}}}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["ConsumedCapacity"] == [
        {"TableName": "txn-units", "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0},
        {"TableName": "txn-units-plain", "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0},
    ]


def test_transactions_over_capacity_are_cancelled_as_dynamodb_does(ddb):
    create(ddb, "txn-tight", rcu=1, wcu=1)  # 300 units of burst each
    create(ddb, "txn-gsi", rcu=500, wcu=500, gsi=(500, 1))
    ddb.put_item(TableName="txn-tight", Item=big_item("big"))  # write bucket: 100 in debt
    item = {"Put": {"TableName": "txn-tight", "Item": {"id": {"S": "t1"}}}}
    other = {"Put": {"TableName": "txn-gsi", "Item": {"id": {"S": "o1"}}}}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[other, item])
    assert cancellation(exc) == [
        {"Code": "None"},
        {"Code": "ProvisionedThroughputExceeded", "Message": TABLE_MESSAGE},
    ]
    assert "Item" not in ddb.get_item(TableName="txn-gsi", Key={"id": {"S": "o1"}}, ConsistentRead=True)

    for _ in range(4):  # 4 x 100 strongly consistent units: the read bucket is 100 in debt
        ddb.get_item(TableName="txn-tight", Key={"id": {"S": "big"}}, ConsistentRead=True)
    with pytest.raises(ClientError) as exc:
        ddb.transact_get_items(
            TransactItems=[
                {"Get": {"TableName": "txn-gsi", "Key": {"id": {"S": "o1"}}}},
                {"Get": {"TableName": "txn-tight", "Key": {"id": {"S": "big"}}}},
            ]
        )
    assert [r["Code"] for r in cancellation(exc)] == ["None", "ProvisionedThroughputExceeded"]

    # An action that changes a GSI out of write capacity is cancelled with the GSI's message.
    ddb.put_item(TableName="txn-gsi", Item=big_item("g", owner="gil"))  # the GSI: 100 units in debt
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "txn-gsi", "Item": {"id": {"S": "o2"}}}},
                {"Put": {"TableName": "txn-gsi", "Item": {"id": {"S": "o3"}, "owner": {"S": "oz"}}}},
            ]
        )
    assert cancellation(exc) == [{"Code": "None"}, {"Code": "ProvisionedThroughputExceeded", "Message": GSI_MESSAGE}]
    found = ddb.batch_get_item(RequestItems={"txn-gsi": {"Keys": [{"id": {"S": "o2"}}, {"id": {"S": "o3"}}]}})
    assert found["Responses"]["txn-gsi"] == []  # all or nothing
