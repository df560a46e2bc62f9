"""A partition refuses keys whose partition-key hash is in another partition's slots (421)."""

from __future__ import annotations

from typing import Any

import pytest
from partition_support import Client, S, describe

from kumo_tablestore import keys
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.partitioning import SlotMap
from kumo_tablestore.server.table_meta import TableMeta, WrongPartitionException

SLOTS = SlotMap.even(2)


def _pk_of(partition: int) -> str:
    for i in range(1000):
        if SLOTS.partition_of(keys.encode_value(S(f"k{i}"))) == partition:
            return f"k{i}"
    raise AssertionError("no key found")


MINE, THEIRS = _pk_of(0), _pk_of(1)
WRONG = "com.kumo#WrongPartitionException"


def _two_partitions(**kw: Any) -> dict[str, Any]:
    return describe(partitions=2, **kw) | {"SlotMap": SLOTS.to_json(), "PartitionIndex": 0}


async def _refused(client: Client, operation: str, body: dict[str, Any]) -> None:
    status, out = await client.op(operation, body)
    assert status == 421, out
    assert out["__type"] == WRONG and "slot map is stale" in out["message"]


async def test_foreign_keys_get_421_and_own_keys_work(client: Client) -> None:
    await client.create(_two_partitions())
    mine, theirs = {"pk": S(MINE), "sk": S("1")}, {"pk": S(THEIRS), "sk": S("1")}
    await client.put(**mine, v=S("x"))
    await _refused(client, "PutItem", {"Item": {**theirs, "v": S("x")}})
    assert (await client.ok("GetItem", {"Key": mine}))["Item"]["v"] == S("x")
    await _refused(client, "GetItem", {"Key": theirs})
    await _refused(
        client,
        "UpdateItem",
        {"Key": theirs, "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": S("y")}},
    )
    await _refused(client, "DeleteItem", {"Key": theirs})
    query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": S(THEIRS)}}
    await _refused(client, "Query", query)
    query["ExpressionAttributeValues"] = {":p": S(MINE)}
    assert (await client.ok("Query", query))["Count"] == 1
    await _refused(client, "BatchGetItem", {"RequestItems": {"t": {"Keys": [mine, theirs]}}})
    await _refused(client, "BatchWriteItem", {"RequestItems": {"t": [{"DeleteRequest": {"Key": theirs}}]}})
    assert (await client.ok("Scan", {}))["Count"] == 1  # nothing foreign was written
    # A Scan may continue from a key of another partition (the router walks partitions in turn).
    assert (await client.ok("Scan", {"ExclusiveStartKey": theirs}))["ScannedCount"] <= 1


async def test_one_partition_owns_every_key(client: Client) -> None:
    await client.create(describe(partitions=1))
    await client.put(pk=S(MINE), sk=S("a"))
    await client.put(pk=S(THEIRS), sk=S("a"))
    assert (await client.ok("Scan", {}))["Count"] == 2


def test_slot_map_parsing() -> None:
    meta = TableMeta.from_description(_two_partitions())
    assert meta.slot_map == SLOTS
    meta.check_owner(keys.encode_value(S(MINE)))
    with pytest.raises(WrongPartitionException) as err:
        meta.check_owner(keys.encode_value(S(THEIRS)))
    assert err.value.status == 421 and err.value.to_dict()["__type"] == WRONG
    # No SlotMap: an even split over PartitionCount; a map giving everything to us: no check at all.
    assert TableMeta.from_description(describe(partitions=2)).slot_map == SLOTS
    assert TableMeta.from_description(describe(partitions=1)).slot_map is None
    assert TableMeta.from_description(describe() | {"SlotMap": SLOTS.to_dict()}).slot_map == SLOTS
    for bad in ("not json", '{"ranges": [[0, 5, 0]]}', 12):
        with pytest.raises(ValidationException, match="invalid SlotMap"):
            TableMeta.from_description(describe() | {"SlotMap": bad})


async def test_the_routers_client_turns_421_into_partition_unavailable(client: Client) -> None:
    """A stale slot map in the router is a retryable unavailability (503 to the caller), not a client error."""
    from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable

    await client.create(_two_partitions())
    router_client = PartitionClient()
    try:
        with pytest.raises(PartitionUnavailable, match="does not own the key"):
            await router_client.op(client.url, "GetItem", {"TableName": "t", "Key": {"pk": S(THEIRS), "sk": S("1")}})
        status, _ = await router_client.op(
            client.url, "GetItem", {"TableName": "t", "Key": {"pk": S(MINE), "sk": S("1")}}
        )
        assert status == 200
    finally:
        await router_client.close()
