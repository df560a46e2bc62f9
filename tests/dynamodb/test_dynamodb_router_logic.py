"""Pure parts of the gateway's DynamoDB router: protocol parsing, descriptions, routing and merging."""

from __future__ import annotations

import pytest

from kumo_gateway.dynamodb import descriptions
from kumo_gateway.dynamodb import json_protocol as protocol
from kumo_gateway.dynamodb import partition_choice as routing
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore.errors import DynamoError, ValidationException
from kumo_tablestore.keys import encode_value
from kumo_tablestore.partitioning import SlotMap

REQUEST = {
    "TableName": "t1x",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "Tags": [{"Key": "kumo:partitions", "Value": "3"}],
}


def route() -> TableRoute:
    desc = descriptions.create_description(REQUEST, now=1.0)
    return TableRoute.from_description(desc, ("http://a", "http://b", "http://c"))


def test_parse_target_and_body():
    assert protocol.parse_target("DynamoDB_20120810.PutItem") == "PutItem"
    for bad in (None, "", "DynamoDB_20120810.Nope", "Other.PutItem"):
        with pytest.raises(DynamoError) as exc:
            protocol.parse_target(bad)
        assert exc.value.type_name == "UnknownOperationException"
    assert protocol.parse_body(b"") == {}
    for bad in (b"{", b"[1]", b"\xff"):
        with pytest.raises(DynamoError) as exc:
            protocol.parse_body(bad)
        assert exc.value.type_name == "SerializationException"


@pytest.mark.parametrize("name", ["ab", "x" * 256, "bad name", "ünï"])
def test_table_name_rules(name):
    with pytest.raises(ValidationException):
        protocol.check_table_name(name)


def test_create_description_and_public_view():
    desc = descriptions.create_description(REQUEST, now=5.0)
    assert desc["PartitionCount"] == 3
    assert SlotMap.from_json(desc["SlotMap"]) == SlotMap.even(3)
    assert desc["TableArn"].endswith(":table/t1x")
    public = descriptions.public_description(desc)
    assert "SlotMap" not in public and "PartitionCount" not in public
    assert descriptions.partition_description(desc, 2)["PartitionIndex"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"KeySchema": [{"AttributeName": "pk", "KeyType": "RANGE"}]},
        {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]},
        {
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "X"},
                {"AttributeName": "sk", "AttributeType": "N"},
            ]
        },
        {"BillingMode": "PROVISIONED"},
        {"Tags": [{"Key": "kumo:partitions", "Value": "0"}]},
    ],
)
def test_create_description_validation(change):
    with pytest.raises(ValidationException):
        descriptions.create_description({**REQUEST, **change}, now=1.0)


def test_update_and_ttl():
    desc = descriptions.create_description(REQUEST, now=1.0)
    prov = descriptions.update_description(
        desc,
        {"BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 3}},
        now=2.0,
    )
    assert prov["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    with pytest.raises(ValidationException):
        descriptions.update_description(desc, {}, now=2.0)
    on = descriptions.ttl_update(desc, {"Enabled": True, "AttributeName": "exp"})
    assert on["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    with pytest.raises(ValidationException):
        descriptions.ttl_update(on, {"Enabled": True, "AttributeName": "exp"})


def test_routing_follows_the_slot_map():
    r = route()
    value = {"S": "hello"}
    expected = r.slot_map.partition_of(encode_value(value))
    assert routing.item_partition(r, {"pk": value, "sk": {"N": "1"}}) == expected
    assert routing.key_partition(r, {"pk": value, "sk": {"N": "1"}}) == expected
    with pytest.raises(ValidationException, match="Missing the key pk"):
        routing.item_partition(r, {"sk": {"N": "1"}})
    with pytest.raises(ValidationException, match="Type mismatch"):
        routing.item_partition(r, {"pk": {"N": "1"}})
    with pytest.raises(ValidationException):
        routing.key_partition(r, {"pk": {"N": "1"}})


def test_segments_validation():
    assert routing.check_segments({}) is None
    assert routing.check_segments({"Segment": 1, "TotalSegments": 4}) == (1, 4)
    for bad in (
        {"Segment": 1},
        {"TotalSegments": 2},
        {"Segment": 2, "TotalSegments": 2},
        {"Segment": 0, "TotalSegments": 1_000_001},
    ):
        with pytest.raises(ValidationException):
            routing.check_segments(bad)


def test_batch_grouping_limits_and_duplicates():
    r = route()
    keys = [{"pk": {"S": f"k{i}"}, "sk": {"N": "1"}} for i in range(100)]
    groups = routing.group_batch_get({"t1x": {"Keys": keys}}, {"t1x": r})
    assert sum(len(v) for v in groups.values()) == 100
    assert all(routing.key_partition(r, k) == p for (_, p), ks in groups.items() for k in ks)
    with pytest.raises(ValidationException):
        routing.group_batch_get({"t1x": {"Keys": [*keys, {"pk": {"S": "x"}, "sk": {"N": "1"}}]}}, {"t1x": r})
    with pytest.raises(ValidationException, match="duplicates"):
        routing.group_batch_get({"t1x": {"Keys": [keys[0], keys[0]]}}, {"t1x": r})
    writes = [{"PutRequest": {"Item": k}} for k in keys[:25]]
    assert sum(len(v) for v in routing.group_batch_write({"t1x": writes}, {"t1x": r}).values()) == 25
    with pytest.raises(ValidationException):
        routing.group_batch_write({"t1x": [*writes, {"DeleteRequest": {"Key": keys[30]}}]}, {"t1x": r})
    with pytest.raises(ValidationException, match="duplicates"):
        routing.group_batch_write({"t1x": [writes[0], {"DeleteRequest": {"Key": keys[0]}}]}, {"t1x": r})


def test_capacity_is_summed_per_table():
    merged = routing.merge_capacity(
        [
            {"TableName": "a", "CapacityUnits": 1.5, "Table": {"CapacityUnits": 1.5}},
            {"TableName": "b", "CapacityUnits": 1.0},
            {"TableName": "a", "CapacityUnits": 2.0, "Table": {"CapacityUnits": 2.0}},
        ]
    )
    assert merged == [
        {"TableName": "a", "CapacityUnits": 3.5, "Table": {"CapacityUnits": 3.5}},
        {"TableName": "b", "CapacityUnits": 1.0},
    ]


def test_query_routes_by_the_partition_key_placeholder_alone():
    r = route()
    pk = {"S": "user-17"}
    expected = r.slot_map.partition_of(encode_value(pk))
    for text, names in (
        ("pk = :p", None),
        ("pk = :p AND sk > :s", None),
        ("sk BETWEEN :s AND :t AND pk = :p", None),
        ("#k = :p", {"#k": "pk"}),
        (":p = pk", None),
    ):
        assert routing.query_partition(r, text, names, {":p": pk, ":s": {"N": "1"}}) == expected, text


@pytest.mark.parametrize(
    ("text", "names", "values"),
    [
        ("pk = :p", None, {":q": {"S": "x"}}),  # missing value
        ("pk = :p", None, {":p": {"N": "1"}}),  # wrong type: the full check gives the message
        ("pk = :p", None, {":p": {"S": ""}}),  # invalid value
        ("pk = :p OR pk = :q", None, {":p": {"S": "x"}, ":q": {"S": "y"}}),  # not a key condition
        ("sk = :p", None, {":p": {"S": "x"}}),  # no partition-key term
        ("pk = :p", {"#k": 1}, {":p": {"S": "x"}}),  # names that are not strings
        ("pk = = :p", None, {":p": {"S": "x"}}),  # does not parse
        (None, None, {":p": {"S": "x"}}),
        ("pk = :p", None, None),
    ],
)
def test_query_routing_leaves_anything_unusual_to_the_full_check(text, names, values):
    assert routing.query_partition(route(), text, names, values) is None
