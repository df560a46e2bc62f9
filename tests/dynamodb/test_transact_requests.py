"""TransactWriteItems/TransactGetItems validation into actions, grouping, fingerprints, capacity. Pure."""

from __future__ import annotations

import pytest

from kumo_gateway.dynamodb import transact_requests as treq
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore.capacity import Consumption
from kumo_tablestore.errors import DynamoError
from kumo_tablestore.partitioning import SlotMap

ROUTE = TableRoute("accounts", "id", "S", None, None, SlotMap.even(3), ("a", "b", "c"))


def lookup(name: str):
    return ROUTE if name == "accounts" else None


def put(i: str) -> dict:
    return {"Put": {"TableName": "accounts", "Item": {"id": {"S": i}, "v": {"N": "1"}}}}


def update(i: str) -> dict:
    return {"Update": {"TableName": "accounts", "Key": {"id": {"S": i}}, "UpdateExpression": "SET v = :v",
                       "ExpressionAttributeValues": {":v": {"N": "2"}}}}  # fmt: skip


def error(request: dict, size: int = 100) -> DynamoError:
    with pytest.raises(DynamoError) as exc:
        treq.parse_write(request, size, lookup)
    return exc.value


def test_actions_in_order_grouped_by_partition() -> None:
    actions = treq.parse_write({"TransactItems": [put(str(i)) for i in range(12)] + [update("u")]}, 100, lookup)
    assert [a.index for a in actions] == list(range(13))
    groups = treq.group(actions)
    assert sum(len(v) for v in groups.values()) == 13
    assert next(iter(groups)) == ("accounts", actions[0].partition)  # the first action's partition holds the decision
    assert {p for _, p in groups} <= {0, 1, 2}


def test_validation_errors() -> None:
    assert "multiple operations on one item" in error({"TransactItems": [put("a"), update("a")]}).message
    assert error({"TransactItems": []}).type_name == "ValidationException"
    assert error({"TransactItems": [put(str(i)) for i in range(101)]}).type_name == "ValidationException"
    assert error({}).type_name == "ValidationException"
    assert error({"TransactItems": [{"Put": {"TableName": "nope", "Item": {"id": {"S": "x"}}}}]}).type_name == (
        "ResourceNotFoundException"
    )
    assert error({"TransactItems": [{**put("a"), **update("b")}]}).type_name == "ValidationException"
    bad_check = {"ConditionCheck": {"TableName": "accounts", "Key": {"id": {"S": "a"}}}}
    assert "ConditionExpression" in error({"TransactItems": [bad_check]}).message
    bad_expr = {"Update": {"TableName": "accounts", "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET v = :missing"}}
    assert error({"TransactItems": [bad_expr]}).type_name == "ValidationException"
    assert "4 MB" in error({"TransactItems": [put("a")]}, size=5 * 1024 * 1024).message
    assert error({"TransactItems": [put("a")], "ClientRequestToken": "x" * 37}).type_name == "ValidationException"
    assert error({"TransactItems": [{"Put": {"TableName": "accounts", "Item": {"v": {"N": "1"}}}}]}).type_name == (
        "ValidationException"
    )
    with pytest.raises(DynamoError):
        treq.parse_get({"TransactItems": [put("a")]}, 10, lookup)


def test_fingerprint_ignores_only_the_token_and_key_order() -> None:
    a = {"TransactItems": [put("a")], "ClientRequestToken": "t1"}
    b = {"ClientRequestToken": "t2", "TransactItems": [put("a")]}
    assert treq.request_fingerprint(a) == treq.request_fingerprint(b)
    assert treq.request_fingerprint(a) != treq.request_fingerprint({"TransactItems": [put("b")]})


def test_consumed_capacity_per_table() -> None:
    assert treq.consumed_capacity([("t", Consumption(table_write=2.0))], "NONE") is None
    writes = [
        ("t", Consumption(table_write=2.0)),
        ("u", Consumption(table_write=4.0)),
        ("t", Consumption(table_write=2.0)),
    ]
    out = treq.consumed_capacity(writes, "TOTAL")
    assert out == [
        {"TableName": "t", "CapacityUnits": 4.0, "WriteCapacityUnits": 4.0},
        {"TableName": "u", "CapacityUnits": 4.0, "WriteCapacityUnits": 4.0},
    ]
    reads = treq.consumed_capacity([("t", Consumption(table_read=2.0))], "TOTAL")
    assert reads == [{"TableName": "t", "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}]


def test_consumed_capacity_indexes_breakdown() -> None:
    """INDEXES: the table's doubled item units, each GSI's and LSI's own units, summed per table."""
    one = Consumption(table_write=2.0)
    one.add_index("byOwner", write=1.0)
    two = Consumption(table_write=4.0)
    two.add_index("byOwner", write=2.0)
    two.add_index("byDate", write=1.0, local=True)
    out = treq.consumed_capacity([("t", one), ("t", two)], "INDEXES")
    assert out == [
        {
            "TableName": "t",
            "CapacityUnits": 10.0,
            "WriteCapacityUnits": 10.0,
            "Table": {"CapacityUnits": 6.0, "WriteCapacityUnits": 6.0},
            "GlobalSecondaryIndexes": {"byOwner": {"CapacityUnits": 3.0, "WriteCapacityUnits": 3.0}},
            "LocalSecondaryIndexes": {"byDate": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}},
        }
    ]
