"""The partition's lean HTTP/1.1 server, spoken to over raw sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from kumo_tablestore.server.http_protocol import HttpServerProtocol, response_bytes


def test_response_bytes() -> None:
    assert response_bytes(200, b"{}", "application/json") == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert b"Connection: close\r\n" in response_bytes(400, b"", "x", keep_alive=False)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    async def handler(method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if path == "/slow":
            await asyncio.sleep(0.05)
        return 200, f"{method} {path} {body.decode()}".encode()

    def factory() -> HttpServerProtocol:
        return HttpServerProtocol(handler, content_type="application/json", max_body=64, too_large=lambda n: b"big")

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def _exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)  # until the server closes
    finally:
        writer.close()


def _post(path: str, body: bytes, close: bool = False) -> bytes:
    extra = b"Connection: close\r\n" if close else b""
    return b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n%s\r\n%s" % (path.encode(), len(body), extra, body)


async def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    data = _post("/slow", b"a") + _post("/op/x?q=1", b"b") + _post("/fast", b"c", close=True)
    out = await _exchange(port, data)
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in out.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"POST /slow a", b"POST /op/x b", b"POST /fast c"]
    assert out.count(b"Connection: close") == 1


async def test_malformed_request_gets_400_and_close(port: int) -> None:
    out = await _exchange(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ") and b"malformed" in out


async def test_body_over_the_limit_gets_413(port: int) -> None:
    out = await _exchange(port, _post("/op/PutItem", b"x" * 100))
    assert out.startswith(b"HTTP/1.1 413 ") and out.endswith(b"\r\n\r\nbig")
