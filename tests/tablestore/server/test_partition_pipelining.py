"""HTTP/1.1 pipelining against a real partition server over a raw socket on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from partition_support import Client, S

from kumo_tablestore.server import PartitionServer


def _request(method: str, path: str, body: Any = None) -> bytes:
    data = b"" if body is None else json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: p\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def _pipeline(server: PartitionServer, requests: list[bytes]) -> list[tuple[int, Any]]:
    """Send every request in one write; read the answers (status, JSON body) in arrival order."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(b"".join(requests))
        await writer.drain()
        answers = []
        for _ in requests:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode().split("\r\n")
            length = next(int(x.split(":")[1]) for x in lines if x.lower().startswith("content-length:"))
            answers.append((int(lines[0].split()[1]), json.loads(await reader.readexactly(length))))
        return answers
    finally:
        writer.close()


def _put(pk: str, **attrs: Any) -> bytes:
    return _request("POST", "/op/PutItem", {"Item": {"pk": S(pk), "sk": S("s"), **attrs}})


def _get(pk: str) -> bytes:
    return _request("POST", "/op/GetItem", {"Key": {"pk": S(pk), "sk": S("s")}})


async def test_pipelined_reads_are_answered_in_order(server: PartitionServer, client: Client) -> None:
    for i in range(5):
        await client.put(pk=S(f"k{i}"), sk=S("s"), n=S(str(i)))
    answers = await _pipeline(server, [_get(f"k{i}") for i in (3, 1, 4, 0, 2)] + [_request("GET", "/healthz")])
    assert [out["Item"]["n"]["S"] for _, out in answers[:5]] == ["3", "1", "4", "0", "2"]
    assert answers[5] == (200, {"table": "t", "partition": 0, "items": 5})


async def test_a_slow_write_is_answered_before_a_later_fast_read(server: PartitionServer, client: Client) -> None:
    await client.put(pk=S("old"), sk=S("s"), v=S("before"))
    answers = await _pipeline(
        server,
        [
            _put("new", v=S("x" * 100_000)),  # waits for a durable commit
            _get("old"),  # answered at once, but must wait its turn
            _get("new"),  # handled at once, while the put still waits for its commit: not visible yet
            _request("POST", "/op/GetItem", {"Key": {"pk": S("old")}}),  # a DynamoDB error in its place
        ],
    )
    assert [status for status, _ in answers] == [200, 200, 200, 400]
    assert answers[0][1] == {}
    assert answers[1][1] == {"Item": {"pk": S("old"), "sk": S("s"), "v": S("before")}}
    assert answers[2][1] == {}  # reads see committed data only, never a queued write
    # Once the put is answered it is committed: a read sent after its answer sees it.
    got = await client.ok("GetItem", {"Key": {"pk": S("new"), "sk": S("s")}})
    assert got == {"Item": {"pk": S("new"), "sk": S("s"), "v": S("x" * 100_000)}}
    assert answers[3][1]["__type"].endswith("#ValidationException")


async def test_pipelined_writes_share_commits(server: PartitionServer, client: Client) -> None:
    before = (await client.call("GET", "/stats"))[1]
    answers = await _pipeline(server, [_put(f"w{i}", n=S(str(i))) for i in range(40)])
    assert all(answer == (200, {}) for answer in answers)
    after = (await client.call("GET", "/stats"))[1]
    assert after["writes"] - before["writes"] == 40
    assert after["commits"] - before["commits"] < 40
    assert (await client.ok("Scan", {"Select": "COUNT"}))["Count"] == 40
