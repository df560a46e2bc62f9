"""The router's lean HTTP/1.1 pool against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httptools
import pytest
from support import await_until

from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable
from kumo_tablestore.pipelined_http import ConnectionFailed, HttpPool, request_bytes, split_url
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


class _RecordingServer(asyncio.Protocol):
    """Answers each request with its body, counts reads and connections (for the pipelining tests)."""

    reads = 0
    connections = 0
    requests = 0
    hold: asyncio.Event | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).connections += 1
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)
        self.body = b""

    def data_received(self, data: bytes) -> None:
        type(self).reads += 1
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        type(self).requests += 1
        body, self.body = self.body, b""
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        if self.hold is None:
            self.transport.write(answer)  # type: ignore[attr-defined]
        else:
            asyncio.get_running_loop().create_task(self._later(answer))

    async def _later(self, answer: bytes) -> None:
        assert self.hold is not None
        await self.hold.wait()
        self.transport.write(answer)  # type: ignore[attr-defined]


@pytest.fixture
async def recording() -> AsyncIterator[tuple[type[_RecordingServer], str]]:
    cls = type("Recording", (_RecordingServer,), {"reads": 0, "connections": 0, "requests": 0, "hold": None})
    srv = await asyncio.get_running_loop().create_server(cls, "127.0.0.1", 0)
    try:
        yield cls, f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    finally:
        srv.close()
        await srv.wait_closed()


async def test_requests_are_pipelined_and_batched_into_few_writes(
    recording: tuple[type[_RecordingServer], str],
) -> None:
    cls, url = recording
    pool = HttpPool(connections=2)
    try:
        await asyncio.gather(*(pool.request("POST", f"{url}/op/x", b"warm") for _ in range(4)))  # open both
        reads_before = cls.reads
        answers = await asyncio.gather(*(pool.request("POST", f"{url}/op/x", b"%d" % i) for i in range(200)))
    finally:
        await pool.close()
    assert answers == [(200, b"%d" % i) for i in range(200)]  # each caller gets its own answer
    assert cls.connections == 2
    assert cls.requests == 204
    assert cls.reads - reads_before < 20  # 200 requests queued in one loop iteration: a few reads, not 200


async def test_lanes_use_their_own_connections(recording: tuple[type[_RecordingServer], str]) -> None:
    cls, url = recording
    pool = HttpPool(connections=1)
    try:
        assert await pool.request("POST", f"{url}/op/GetItem", b"r") == (200, b"r")
        assert await pool.request("POST", f"{url}/op/PutItem", b"w", lane="w") == (200, b"w")
        assert await pool.request("POST", f"{url}/op/GetItem", b"r2") == (200, b"r2")
    finally:
        await pool.close()
    assert cls.connections == 2


async def test_a_cancelled_caller_does_not_shift_the_answers(recording: tuple[type[_RecordingServer], str]) -> None:
    cls, url = recording
    cls.hold = asyncio.Event()
    pool = HttpPool(connections=1)
    try:
        first = asyncio.create_task(pool.request("POST", f"{url}/op/x", b"first"))
        second = asyncio.create_task(pool.request("POST", f"{url}/op/x", b"second"))
        await await_until(lambda: cls.requests == 2, what="both requests pipelined to the server")
        first.cancel()
        cls.hold.set()
        assert await second == (200, b"second")
        assert await pool.request("POST", f"{url}/op/x", b"third") == (200, b"third")
    finally:
        await pool.close()
    assert first.cancelled()
    assert cls.connections == 1


async def test_a_timeout_fails_every_request_queued_behind_it(recording: tuple[type[_RecordingServer], str]) -> None:
    cls, url = recording
    cls.hold = asyncio.Event()  # never set: nothing is answered
    pool = HttpPool(connections=1, timeout_s=0.3)
    try:
        results = await asyncio.gather(
            *(pool.request("POST", f"{url}/op/x", b"%d" % i) for i in range(3)), return_exceptions=True
        )
    finally:
        await pool.close()
    assert all(isinstance(r, ConnectionFailed) for r in results), results
    assert "no answer" in str(results[0])
