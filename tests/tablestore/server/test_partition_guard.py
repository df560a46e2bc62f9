"""A partition server's platform credential check and listener bounds, on a real server (raw sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kumo import platform_credential
from kumo.listeners import ListenerLimits
from kumo_tablestore.partition_client import PartitionClient
from kumo_tablestore.server import PartitionServer

SECRET = "partition-test-credential"
LIMITS = ListenerLimits(header_timeout_s=0.4, body_timeout_s=0.4, keepalive_timeout_s=0.4, max_header_bytes=2048)


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[PartitionServer]:
    server = PartitionServer(data_dir=tmp_path / "p0", limits=LIMITS, credential=SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def exchange(port: int, data: bytes, limit_s: float = 5.0) -> tuple[float, bytes]:
    """Send ``data``; everything the server sends until it closes, and how long that took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        out = await asyncio.wait_for(reader.read(), limit_s)
        return loop.time() - start, out
    finally:
        writer.close()


def request(method: str, path: str, body: bytes = b"", *, credential: str | None = None, close: bool = True) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    if credential is not None:
        head += f"{platform_credential.HEADER}: {credential}\r\n"
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode() + body


@pytest.mark.parametrize("credential", [None, "", "wrong", SECRET + "x"])
async def test_without_the_credential_requests_are_refused(guarded: PartitionServer, credential: str | None) -> None:
    _, out = await exchange(guarded.port, request("GET", "/table", credential=credential))
    assert out.startswith(b"HTTP/1.1 403 ")
    assert b"platform credential" in out
    _, out = await exchange(guarded.port, request("POST", "/op/PutItem", b'{"Item": {}}', credential=credential))
    assert out.startswith(b"HTTP/1.1 403 ")


async def test_with_the_credential_requests_are_served(guarded: PartitionServer) -> None:
    _, out = await exchange(guarded.port, request("GET", "/table", credential=SECRET))
    assert not out.startswith(b"HTTP/1.1 403 ")  # no table yet: a DynamoDB error, but served
    assert b"ResourceNotFoundException" in out or out.startswith(b"HTTP/1.1 200 ")
    client, wrong = PartitionClient(credential=SECRET), PartitionClient(credential="wrong")
    try:  # Kumo's own client sends it on every request
        health = await client.health(guarded.url)
        assert health["partition"] == 0
        status, _ = await client.request("GET", guarded.url + "/table")
        assert status != 403
        refused, _ = await wrong.request("GET", guarded.url + "/table")
        assert refused == 403
    finally:
        await client.close()
        await wrong.close()


async def test_the_readiness_probe_needs_no_credential(guarded: PartitionServer) -> None:
    _, out = await exchange(guarded.port, request("GET", "/healthz"))
    assert out.startswith(b"HTTP/1.1 200 ")


async def test_idle_and_stalled_connections_are_closed(guarded: PartitionServer) -> None:
    elapsed, out = await exchange(guarded.port, b"")
    assert 0.2 < elapsed < 3.0 and out == b""
    elapsed, out = await exchange(guarded.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    assert elapsed < 3.0 and out == b""
    head = (
        f"POST /op/GetItem HTTP/1.1\r\nHost: x\r\n{platform_credential.HEADER}: {SECRET}\r\nContent-Length: 50\r\n\r\n"
    )
    elapsed, out = await exchange(guarded.port, head.encode() + b"{")
    assert elapsed < 3.0 and out == b""
    elapsed, out = await exchange(guarded.port, request("GET", "/healthz", close=False))
    assert out.startswith(b"HTTP/1.1 200 ") and 0.2 < elapsed < 3.0  # answered, then closed when idle


async def test_huge_heads_and_declared_bodies_are_refused_at_once(guarded: PartitionServer) -> None:
    _, out = await exchange(guarded.port, b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431 ")
    head = request("POST", "/op/PutItem", credential=SECRET, close=False).replace(
        b"Content-Length: 0", b"Content-Length: 1000000000000"
    )
    elapsed, out = await exchange(guarded.port, head)
    assert out.startswith(b"HTTP/1.1 413 ") and elapsed < 1.0
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["__type"].endswith("ValidationException")


async def test_the_credential_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(platform_credential.ENV_VAR, SECRET)
    server = PartitionServer(data_dir=tmp_path / "p1")
    await server.start()
    client, wrong = PartitionClient(), PartitionClient(credential="wrong")  # the client reads the same variable
    try:
        assert server.credential == SECRET
        refused, _ = await wrong.request("GET", server.url + "/table")
        assert refused == 403
        status, _ = await client.request("GET", server.url + "/table")
        assert status != 403
    finally:
        await client.close()
        await wrong.close()
        await server.stop()
