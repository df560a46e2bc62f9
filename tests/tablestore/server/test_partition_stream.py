"""``POST /stream``: the change log for streams (positions, limits, the long poll) and its 24 h trim."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from partition_support import Client, N, S

from kumo_tablestore.partition_client import PartitionClient
from kumo_tablestore.server import PartitionServer, stream_reader
from kumo_tablestore.storage import ChangeRecord


async def test_records_after_a_position(client: Client) -> None:
    for i in range(5):
        await client.put(pk=S(f"k{i}"), sk=S("s"), v=N(i))
    await client.ok("DeleteItem", {"Key": {"pk": S("k0"), "sk": S("s")}})
    status, out = await client.call("POST", "/stream", {"After": 0})
    assert status == 200 and out["First"] == 1 and out["Last"] == 6
    assert [r["seq"] for r in out["Records"]] == [1, 2, 3, 4, 5, 6]
    assert [r["event_name"] for r in out["Records"]] == ["INSERT"] * 5 + ["REMOVE"]
    assert out["Records"][0]["keys"] == {"pk": S("k0"), "sk": S("s")}
    assert out["Records"][0]["new_image"]["v"] == N(0) and out["Records"][5]["old_image"]["v"] == N(0)
    assert abs(out["Records"][0]["timestamp"] - time.time()) < 60
    status, out = await client.call("POST", "/stream", {"After": 3, "Limit": 2})
    assert [r["seq"] for r in out["Records"]] == [4, 5]
    status, out = await client.call("POST", "/stream", {"After": 6})
    assert out["Records"] == [] and out["Last"] == 6


async def test_bad_reads_are_validation_errors(client: Client) -> None:
    for body in ({"After": -1}, {"Limit": 0}, {"Limit": 1001}, {"WaitMs": 20_001}, {"After": "1"}):
        status, out = await client.call("POST", "/stream", body)
        assert status == 400 and out["__type"].endswith("ValidationException"), body


async def test_long_poll_answers_when_a_write_commits(server: PartitionServer, client: Client) -> None:
    reads = PartitionClient()
    try:
        waiting = asyncio.create_task(
            reads.request("POST", server.url + "/stream", b'{"After": 0, "WaitMs": 20000}', lane="s")
        )
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await client.put(pk=S("a"), sk=S("1"))
        # woken by the commit: well before its 20 s wait would end
        status, body = await asyncio.wait_for(waiting, 10)
        assert status == 200 and b'"seq":1' in body.replace(b" ", b"")
        began = time.monotonic()
        status, body = await reads.request("POST", server.url + "/stream", b'{"After": 1, "WaitMs": 300}', lane="s")
        assert status == 200 and b'"Records":[]' in body.replace(b" ", b"") and time.monotonic() - began >= 0.3
    finally:
        await reads.close()


async def test_trim_keeps_24_hours(server: PartitionServer, client: Client) -> None:
    engine = server.partition.engine
    now = time.time()
    old = [ChangeRecord("INSERT", {"pk": S(f"o{i}")}, timestamp=now - 25 * 3600) for i in range(3)]
    engine.write([], old)
    await client.put(pk=S("new"), sk=S("1"))
    assert stream_reader.trim_once(engine, now) == 3
    _, out = await client.call("POST", "/stream", {"After": 0})
    assert out["First"] == 4 and [r["seq"] for r in out["Records"]] == [4]
    assert stream_reader.trim_once(engine, now) == 0


async def test_a_table_less_partition_has_no_stream(server: PartitionServer, session: aiohttp.ClientSession) -> None:
    status, out = await Client(server.url, session).call("POST", "/stream", {})
    assert status == 400 and out["__type"].endswith("ResourceNotFoundException")
