"""The router's lean HTTP/1.1 pool against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from kumo_gateway.dynamodb.http_pool import ConnectionFailed, HttpPool, request_bytes, split_url
from kumo_gateway.dynamodb.partition_client import PartitionClient, PartitionUnavailable
from kumo_tablestore.server.http_protocol import HttpServerProtocol

Handler = Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]


def test_split_url_and_request_bytes() -> None:
    assert split_url("http://127.0.0.1:8000/op/GetItem") == ("127.0.0.1", 8000, "/op/GetItem")
    assert split_url("http://h/x?a=1") == ("h", 80, "/x?a=1")
    with pytest.raises(ConnectionFailed):
        split_url("https://h/x")
    data = request_bytes("POST", "h", 1, "/op/PutItem", b"{}", "application/json")
    assert (
        data
        == b"POST /op/PutItem HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert request_bytes("GET", "h", 1, "/healthz", None, "x").endswith(b"\r\n\r\n")


class _Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        def factory() -> HttpServerProtocol:
            self.connections += 1
            return HttpServerProtocol(
                self.handler, content_type="application/json", max_body=1024, too_large=lambda n: b"{}"
            )

        self.server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


@pytest.fixture
async def echo() -> AsyncIterator[tuple[_Server, str]]:
    in_flight = {"now": 0, "max": 0}

    async def handler(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        await asyncio.sleep(0.001)
        in_flight["now"] -= 1
        return (404 if path == "/missing" else 200), f"{method} {path} ".encode() + body

    srv = _Server(handler)
    url = await srv.start()
    srv.in_flight = in_flight  # type: ignore[attr-defined]
    try:
        yield srv, url
    finally:
        assert srv.server is not None
        srv.server.close()
        await srv.server.wait_closed()


async def test_keep_alive_reuses_one_connection(echo: tuple[_Server, str]) -> None:
    srv, url = echo
    pool = HttpPool()
    try:
        for i in range(20):
            assert await pool.request("POST", f"{url}/op/PutItem", str(i).encode()) == (
                200,
                f"POST /op/PutItem {i}".encode(),
            )
        assert await pool.request("GET", f"{url}/missing") == (404, b"GET /missing ")
    finally:
        await pool.close()
    assert srv.connections == 1


async def test_connections_per_endpoint_are_limited(echo: tuple[_Server, str]) -> None:
    srv, url = echo
    pool = HttpPool(per_endpoint=4)
    try:
        answers = await asyncio.gather(*(pool.request("POST", f"{url}/op/x", str(i).encode()) for i in range(50)))
    finally:
        await pool.close()
    assert [a[1] for a in answers] == [f"POST /op/x {i}".encode() for i in range(50)]
    assert srv.connections <= 4 and srv.in_flight["max"] <= 4  # type: ignore[attr-defined]


async def test_unreachable_partition_is_unavailable() -> None:
    srv = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()
    client = PartitionClient()
    try:
        with pytest.raises(PartitionUnavailable):
            await client.op(f"http://127.0.0.1:{port}", "GetItem", {"Key": {}})
    finally:
        await client.close()


async def test_silent_server_times_out() -> None:
    release = asyncio.Event()

    async def never(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        await release.wait()
        return 200, b""

    srv = _Server(never)
    url = await srv.start()
    pool = HttpPool(timeout_s=0.3)
    try:
        with pytest.raises(ConnectionFailed, match="no answer"):
            await pool.request("POST", f"{url}/op/GetItem", b"{}")
    finally:
        release.set()
        await pool.close()
        assert srv.server is not None
        srv.server.close()
        await srv.server.wait_closed()


async def test_server_closing_mid_request_fails_the_request() -> None:
    class Hangup(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.close()

    srv = await asyncio.get_running_loop().create_server(Hangup, "127.0.0.1", 0)
    pool = HttpPool()
    try:
        with pytest.raises(ConnectionFailed, match="closed"):
            await pool.request("POST", f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/op/x", b"{}")
    finally:
        await pool.close()
        srv.close()
        await srv.wait_closed()
