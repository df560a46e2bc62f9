"""A partition admits a throttled batch share item by item; the rest comes back unprocessed.

The partition's throughput gets a hand-driven clock, so the bucket holds exactly what the test says.
"""

from __future__ import annotations

import aiohttp
from partition_support import Client, S, describe

from kumo_tablestore.server import PartitionServer
from kumo_tablestore.server.throughput import Throughput, admitted_prefix

#: An item of exactly 290 write units (1 KB each) and 73 strongly consistent read units (4 KB each).
BIG = {"pk": S("big"), "sk": S("1"), "d": S("x" * (290 * 1024 - 9))}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def provisioned(server: PartitionServer, session: aiohttp.ClientSession) -> tuple[Client, Clock]:
    """A 1 RCU / 1 WCU table (300 units of burst each) whose buckets only refill when the clock moves."""
    client = Client(server.url, session)
    await client.create(describe(provisioned=(1, 1)))
    clock = Clock()
    server.partition.throughput = Throughput(server.partition.meta, clock)
    return client, clock


def puts(names: list[str]) -> list[dict]:
    return [{"PutRequest": {"Item": {"pk": S(n), "sk": S("1"), "v": S(n)}}} for n in names]


async def test_batch_write_processes_what_the_bucket_admits(
    server: PartitionServer, session: aiohttp.ClientSession
) -> None:
    client, clock = await provisioned(server, session)
    out = await client.ok("PutItem", {"Item": BIG, "ReturnConsumedCapacity": "TOTAL"})
    assert out["ConsumedCapacity"]["CapacityUnits"] == 290  # 10 units left
    names = [f"k{i:02}" for i in range(25)]
    requests = puts(names)
    out = await client.ok("BatchWriteItem", {"RequestItems": {"t": requests}, "ReturnConsumedCapacity": "TOTAL"})
    assert out["UnprocessedItems"] == {"t": requests[10:]}  # the request's own shape, in order
    assert out["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 10.0, "WriteCapacityUnits": 10.0}]
    assert server.partition.engine.count() == 11

    msg = await client.error(
        "BatchWriteItem", {"RequestItems": {"t": requests[10:]}}, "ProvisionedThroughputExceededException"
    )
    assert "provisioned throughput" in msg
    assert server.partition.engine.count() == 11

    clock.now += 15  # 15 units refilled: the rest fits
    out = await client.ok("BatchWriteItem", {"RequestItems": {"t": requests[10:]}})
    assert out["UnprocessedItems"] == {}
    assert server.partition.engine.count() == 26
    got = await client.ok(
        "BatchGetItem", {"RequestItems": {"t": {"Keys": [{"pk": S(n), "sk": S("1")} for n in names]}}}
    )
    assert sorted(i["v"]["S"] for i in got["Responses"]["t"]) == names


async def test_batch_write_charges_replaced_items_after_the_fact(
    server: PartitionServer, session: aiohttp.ClientSession
) -> None:
    client, clock = await provisioned(server, session)
    await client.ok("PutItem", {"Item": BIG})  # 10 units left
    clock.now += 290  # full again
    # Overwriting BIG with a small item costs 290 units, known only once the old item is read: the
    # batch is admitted at its estimate (1 unit each) and the bucket goes into debt afterwards.
    small_big = {"PutRequest": {"Item": {"pk": S("big"), "sk": S("1")}}}
    out = await client.ok(
        "BatchWriteItem", {"RequestItems": {"t": [small_big, *puts(["a", "b"])]}, "ReturnConsumedCapacity": "TOTAL"}
    )
    assert out["UnprocessedItems"] == {}
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 292.0
    clock.now += 7  # 300 - 292 + 7 = 15 units
    out = await client.ok("BatchWriteItem", {"RequestItems": {"t": puts([f"c{i:02}" for i in range(20)])}})
    assert len(out["UnprocessedItems"]["t"]) == 5


async def test_batch_get_returns_unprocessed_keys_with_their_settings(
    server: PartitionServer, session: aiohttp.ClientSession
) -> None:
    client, clock = await provisioned(server, session)
    await client.ok("PutItem", {"Item": BIG})
    await client.ok("BatchWriteItem", {"RequestItems": {"t": puts([f"k{i:02}" for i in range(10)])}})
    for _ in range(4):  # 4 x 73 consistent read units: 8 left
        await client.ok("GetItem", {"Key": {"pk": S("big"), "sk": S("1")}, "ConsistentRead": True})
    keys = [{"pk": S(f"k{i:02}"), "sk": S("1")} for i in range(25)]  # 15 of them do not exist
    spec = {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "#v", "ExpressionAttributeNames": {"#v": "v"}}
    out = await client.ok("BatchGetItem", {"RequestItems": {"t": spec}, "ReturnConsumedCapacity": "TOTAL"})
    assert sorted(i["v"]["S"] for i in out["Responses"]["t"]) == [f"k{i:02}" for i in range(8)]
    assert all(set(i) == {"v"} for i in out["Responses"]["t"])
    assert out["UnprocessedKeys"] == {"t": {**spec, "Keys": keys[8:]}}
    assert out["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 8.0, "ReadCapacityUnits": 8.0}]

    await client.error("BatchGetItem", {"RequestItems": {"t": spec}}, "ProvisionedThroughputExceededException")
    clock.now += 17
    out = await client.ok("BatchGetItem", {"RequestItems": {"t": {**spec, "Keys": keys[8:]}}})
    assert out["UnprocessedKeys"] == {}
    assert sorted(i["v"]["S"] for i in out["Responses"]["t"]) == ["k08", "k09"]


async def test_on_demand_batches_are_not_throttled(server: PartitionServer, session: aiohttp.ClientSession) -> None:
    client = Client(server.url, session)
    await client.create(describe())
    out = await client.ok("BatchWriteItem", {"RequestItems": {"t": puts([f"k{i:02}" for i in range(25)])}})
    assert out["UnprocessedItems"] == {}
    assert server.partition.engine.count() == 25


def test_admitted_prefix_takes_requests_while_capacity_is_left() -> None:
    assert admitted_prefix(10.0, [1.0] * 25) == 10
    assert admitted_prefix(0.5, [4.0, 1.0]) == 1  # started with capacity left: admitted, charged after
    assert admitted_prefix(0.0, [1.0]) == 0
    assert admitted_prefix(-3.0, [0.5]) == 0
    assert admitted_prefix(5.0, []) == 0
