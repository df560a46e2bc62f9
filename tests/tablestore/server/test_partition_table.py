"""Table endpoints, health, batch operations, TTL, provisioned throughput and restart."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from partition_support import Client, N, S, describe
from support import await_until

from kumo_tablestore.server import PartitionServer

KEY = {"pk": S("a"), "sk": S("1")}


async def test_health_and_table_lifecycle(server: PartitionServer, session: aiohttp.ClientSession) -> None:
    client = Client(server.url, session)
    assert await client.call("GET", "/healthz") == (200, {"table": None, "partition": 0, "items": 0})
    status, out = await client.call("GET", "/table")
    assert status == 400 and out["__type"].endswith("ResourceNotFoundException")
    await client.error("GetItem", {"Key": KEY}, "ResourceNotFoundException")
    await client.create(describe())
    await client.create(describe())  # idempotent
    assert (await client.call("GET", "/table"))[1]["TableName"] == "t"
    await client.put(**KEY)
    assert (await client.call("GET", "/healthz"))[1] == {"table": "t", "partition": 0, "items": 1}
    status, out = await client.call("PUT", "/table", describe(sk_type="N"))
    assert status == 400 and "key schema" in out["message"]
    status, _ = await client.call("PUT", "/table", {"TableName": "t"})
    assert status == 400
    assert (await client.call("DELETE", "/table"))[0] == 200
    await client.error("GetItem", {"Key": KEY}, "ResourceNotFoundException")
    await client.create(describe())
    assert await client.ok("GetItem", {"Key": KEY}) == {}


async def test_restart_keeps_data(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    async with PartitionServer(data_dir=tmp_path / "p") as srv:
        client = Client(srv.url, session)
        await client.create(describe())
        await client.put(**KEY, v=N(7))
    async with PartitionServer(data_dir=tmp_path / "p", table="t") as srv:
        client = Client(srv.url, session)
        assert (await client.ok("GetItem", {"Key": KEY}))["Item"]["v"] == N(7)


async def test_batch_get_and_write(client: Client) -> None:
    puts = [{"PutRequest": {"Item": {"pk": S(f"k{i}"), "sk": S("s"), "i": N(i)}}} for i in range(5)]
    out = await client.ok("BatchWriteItem", {"RequestItems": {"t": puts}, "ReturnConsumedCapacity": "TOTAL"})
    assert out["UnprocessedItems"] == {}
    assert out["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 5.0, "WriteCapacityUnits": 5.0}]
    deletes = [{"DeleteRequest": {"Key": {"pk": S("k0"), "sk": S("s")}}}]
    await client.ok("BatchWriteItem", {"RequestItems": {"t": deletes}})
    keys = [{"pk": S(f"k{i}"), "sk": S("s")} for i in range(5)]
    out = await client.ok("BatchGetItem", {"RequestItems": {"t": {"Keys": keys, "ProjectionExpression": "i"}}})
    assert sorted(i["i"]["N"] for i in out["Responses"]["t"]) == ["1", "2", "3", "4"]
    assert out["UnprocessedKeys"] == {}
    dup = await client.error("BatchGetItem", {"RequestItems": {"t": {"Keys": [keys[0], keys[0]]}}})
    assert "duplicates" in dup
    dup = await client.error("BatchWriteItem", {"RequestItems": {"t": [puts[1], puts[1]]}})
    assert "duplicates" in dup
    await client.error("BatchWriteItem", {"RequestItems": {"t": [puts[0]] * 26}})
    await client.error("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {}, "DeleteRequest": {}}]}})
    await client.error("BatchGetItem", {"RequestItems": {"other": {"Keys": keys}}}, "ResourceNotFoundException")


async def test_ttl_hides_then_sweeps(server: PartitionServer, session: aiohttp.ClientSession) -> None:
    client = Client(server.url, session)
    await client.create(describe(ttl="expires"))
    past = int(time.time()) - 10
    await client.put(pk=S("old"), sk=S("1"), expires=N(past))
    await client.put(pk=S("new"), sk=S("1"), expires=N(int(time.time()) + 3600))
    await client.put(pk=S("never"), sk=S("1"), expires=S("not a number"))
    assert await client.ok("GetItem", {"Key": {"pk": S("old"), "sk": S("1")}}) == {}
    assert (await client.ok("Scan", {}))["Count"] == 2
    # A condition sees the expired item as absent.
    await client.ok(
        "PutItem", {"Item": {"pk": S("old"), "sk": S("2")}, "ConditionExpression": "attribute_not_exists(pk)"}
    )
    await client.put(pk=S("gone"), sk=S("1"), expires=N(past))
    # the sweeper runs every 0.2 s here
    await await_until(lambda: server.partition.engine.count() == 3, timeout=5, what="the TTL sweep")
    removes = [r for r in server.partition.engine.read_change_log() if r.event_name == "REMOVE"]
    assert removes and all(r.ttl_delete for r in removes)


async def test_enabling_ttl_reindexes_existing_items(server: PartitionServer, session: aiohttp.ClientSession) -> None:
    client = Client(server.url, session)
    await client.create(describe())
    await client.put(pk=S("a"), sk=S("1"), ttl=N(int(time.time()) - 5))
    assert (await client.ok("Scan", {}))["Count"] == 1
    await client.create(describe(ttl="ttl"))
    assert (await client.ok("Scan", {}))["Count"] == 0


async def test_provisioned_throughput_is_enforced(server: PartitionServer, session: aiohttp.ClientSession) -> None:
    client = Client(server.url, session)
    await client.create(describe(provisioned=(1, 1), partitions=1))
    big = S("x" * 300 * 1024)  # 300 write units a put: one put drains the 300 s burst
    await client.ok("PutItem", {"Item": {**KEY, "d": big}})
    msg = await client.error("PutItem", {"Item": {**KEY, "d": big}}, "ProvisionedThroughputExceededException")
    assert "provisioned throughput" in msg
    await client.ok("GetItem", {"Key": KEY})  # reads have their own bucket
