"""Secondary indexes declared in a Table manifest, under a real ``kumo up`` (real boto3): the GSI and LSI
are served at start, a manifest edit adds a GSI (backfilled from the items already there, then ACTIVE) and
removes one (gone from DescribeTable, Query refused), and an LSI change is refused naming the field."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError
from kumo_up import KumoUp
from support import wait_until
from tables_support import clients, table_manifest

NAME = "shop-orders"
BY_CUSTOMER = {
    "name": "by-customer",
    "partitionKey": {"name": "customer", "type": "S"},
    "sortKey": {"name": "amount", "type": "N"},
    "projection": {"type": "INCLUDE", "nonKeyAttributes": ["note"]},
}
BY_CITY = {"name": "by-city", "partitionKey": {"name": "city", "type": "S"}, "projection": {"type": "KEYS_ONLY"}}
BY_STATUS = {"name": "by-status", "sortKey": {"name": "status", "type": "S"}}


def orders(gsis: list[dict], lsis: list[dict] | None = None) -> dict:
    return table_manifest(
        NAME,
        ("pk", "S"),
        ("sk", "N"),
        partitions=3,
        globalSecondaryIndexes=gsis,
        localSecondaryIndexes=lsis or [BY_STATUS],
    )


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    kumo = KumoUp(
        [orders([BY_CUSTOMER])], tmp_path_factory.mktemp("kumo-manifest-indexes"), args=["--watch-interval", "0.1"]
    )
    try:
        yield kumo
    finally:
        kumo.stop()


def query(ddb, index: str, condition: str, values: dict, **extra) -> list[dict]:
    items, start = [], None
    for _ in range(100):
        page = ddb.query(
            TableName=NAME,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            **({"ExclusiveStartKey": start} if start else {}),
            **extra,
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items
    raise AssertionError("pagination did not end")


def indexes(ddb) -> dict[str, dict]:
    table = ddb.describe_table(TableName=NAME)["Table"]
    return {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", [])}


def test_manifest_indexes_served_added_and_removed(up: KumoUp) -> None:
    ddb = clients(up)[0]
    described = indexes(ddb)
    assert described["by-customer"]["IndexStatus"] == "ACTIVE"
    assert described["by-customer"]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
    assert described["by-status"]["KeySchema"][1] == {"AttributeName": "status", "KeyType": "RANGE"}
    customer = "c-" + uuid.uuid4().hex
    for i in range(40):
        item = {"pk": {"S": f"o{i}"}, "sk": {"N": "1"}, "note": {"S": f"n{i}"}, "city": {"S": f"city{i % 4}"}}
        if i % 2:
            item |= {"customer": {"S": customer}, "amount": {"N": str(i)}, "status": {"S": "paid"}}
        ddb.put_item(TableName=NAME, Item=item)

    # The manifest's GSI answers Query with IndexName (sorted by its sort key, INCLUDE projection).
    by_customer = {"customer = :c": {":c": {"S": customer}}}
    cond, values = next(iter(by_customer.items()))
    got = wait_until(
        lambda: (items := query(ddb, "by-customer", cond, values)) and len(items) == 20 and items,
        timeout=15,
        what="the manifest GSI to hold the odd orders",
    )
    assert [int(i["amount"]["N"]) for i in got] == list(range(1, 40, 2))
    assert set(got[0]) == {"pk", "sk", "customer", "amount", "note"}
    lsi = query(
        ddb,
        "by-status",
        "pk = :p AND #s = :s",
        {":p": {"S": "o3"}, ":s": {"S": "paid"}},
        ExpressionAttributeNames={"#s": "status"},
    )
    assert [i["pk"]["S"] for i in lsi] == ["o3"]

    # Edit: add by-city (backfilled from the 40 items), keep by-customer.
    up.write_manifests([orders([BY_CUSTOMER, BY_CITY])])
    wait_until(lambda: indexes(ddb).get("by-city", {}).get("IndexStatus") == "ACTIVE", timeout=20, what="by-city")
    city = query(ddb, "by-city", "city = :c", {":c": {"S": "city1"}})
    assert sorted(i["pk"]["S"] for i in city) == sorted(f"o{i}" for i in range(1, 40, 4))
    assert set(city[0]) == {"pk", "sk", "city"}  # KEYS_ONLY
    assert indexes(ddb)["by-city"]["ItemCount"] == 40
    ddb.put_item(TableName=NAME, Item={"pk": {"S": "late"}, "sk": {"N": "2"}, "city": {"S": "city1"}})
    wait_until(
        lambda: len(query(ddb, "by-city", "city = :c", {":c": {"S": "city1"}})) == 11,
        timeout=10,
        what="a write after the backfill to reach by-city",
    )

    # An LSI change is refused (DynamoDB cannot change LSIs), naming the file and field; nothing changes.
    up.write_manifests([orders([BY_CUSTOMER], [BY_STATUS | {"name": "by-state"}])])
    refusal = wait_until(
        lambda: "spec.localSecondaryIndexes" in up.output() and up.output(), timeout=10, what="LSI change refused"
    )
    line = next(x for x in refusal.splitlines() if "spec.localSecondaryIndexes" in x)
    assert f"{up.manifest_path}: Table '{NAME}': spec.localSecondaryIndexes: the local secondary indexes" in line
    assert "table has by-status, manifest asks for by-state" in line
    assert set(indexes(ddb)) == {"by-customer", "by-city", "by-status"}

    # Edit: remove by-customer. It leaves DescribeTable and Query on it is refused as DynamoDB refuses.
    up.write_manifests([orders([BY_CITY])])
    wait_until(lambda: "by-customer" not in indexes(ddb), timeout=10, what="by-customer removed")
    with pytest.raises(ClientError) as info:
        query(ddb, "by-customer", cond, values)
    assert info.value.response["Error"]["Message"] == "The table does not have the specified index: by-customer"
    assert len(query(ddb, "by-city", "city = :c", {":c": {"S": "city1"}})) == 11
    attributes = {d["AttributeName"] for d in ddb.describe_table(TableName=NAME)["Table"]["AttributeDefinitions"]}
    assert attributes == {"pk", "sk", "city", "status"}
