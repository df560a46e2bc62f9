"""The gateway's fast lane: claimed requests skip ASGI; everything else, and ordering, stays as uvicorn does it.

A real uvicorn server (``kumo_gateway.server.serve``) with a small endpoint that claims ``POST /fast``,
driven over raw sockets so pipelining and connection handling are visible.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kumo_gateway.fast_lane import response_head
from kumo_gateway.server import free_port, serve


class EchoEndpoint:
    """Claims ``POST /fast``; answers ``fast:<body>`` (``boom`` raises, ``slow`` waits a little)."""

    max_body = 64

    def __init__(self) -> None:
        self.too_large_seen = 0

    def claim(self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> Any | None:
        if method == b"POST" and url == b"/fast":
            return dict(headers).get(b"x-tag", b"")
        return None

    async def answer(self, token: Any, body: bytes, too_large: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if too_large:
            self.too_large_seen += 1
            return 413, [(b"content-type", b"text/plain")], b"too large"
        if body == b"boom":
            raise RuntimeError("endpoint bug")
        if body == b"slow":
            await asyncio.sleep(0.2)
        if body == b"slower":
            await asyncio.sleep(0.8)
        return 200, [(b"content-type", b"text/plain"), (b"x-tag", token)], b"fast:" + body


async def _asgi(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"asgi:{request.method}:{(await request.body()).decode()}")


@pytest.fixture
def short_keep_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle keep-alive connections close after 0.3 s instead of uvicorn's 5 s."""
    from kumo_gateway import server

    original = server.server_config

    def config(*args: Any, **kwargs: Any) -> Any:
        made = original(*args, **kwargs)
        made.timeout_keep_alive = 0.3
        return made

    monkeypatch.setattr(server, "server_config", config)


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[int, EchoEndpoint]]:
    app = Starlette(routes=[Route("/{path:path}", _asgi, methods=["GET", "POST"])])
    endpoint = EchoEndpoint()
    app.state.fast_lane = endpoint
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(app, "127.0.0.1", port, ready=ready))
    await asyncio.wait_for(ready.wait(), 15)
    try:
        yield port, endpoint
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def _post(path: str, body: bytes, *, tag: bytes = b"t", version: str = "1.1") -> bytes:
    return b"POST %s HTTP/%s\r\nHost: x\r\nX-Tag: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        path.encode(),
        version.encode(),
        tag,
        len(body),
        body,
    )


async def _exchange(port: int, data: bytes, answers: int) -> tuple[list[tuple[int, dict[bytes, bytes], bytes]], bool]:
    """Send ``data`` in one write; read ``answers`` responses; also say whether the server then closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        out = []
        for _ in range(answers):
            status_line = await asyncio.wait_for(reader.readline(), 10)
            headers: dict[bytes, bytes] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.rstrip(b"\r\n").partition(b": ")
                headers[name.lower()] = value
            body = await reader.readexactly(int(headers[b"content-length"]))
            out.append((int(status_line.split()[1]), headers, body))
        try:
            closed = await asyncio.wait_for(reader.read(1), 0.3) == b""
        except TimeoutError:
            closed = False
        return out, closed
    finally:
        writer.close()


async def test_claimed_requests_are_answered_by_the_endpoint_over_keep_alive(
    gateway: tuple[int, EchoEndpoint],
) -> None:
    port, _ = gateway
    answers, closed = await _exchange(port, _post("/fast", b"a", tag=b"1"), 1)
    assert answers[0][0] == 200 and answers[0][2] == b"fast:a"
    assert answers[0][1][b"x-tag"] == b"1" and answers[0][1][b"content-type"] == b"text/plain"
    assert b"date" in answers[0][1]  # uvicorn's default headers are kept
    assert not closed  # keep-alive


async def test_other_requests_go_through_asgi(gateway: tuple[int, EchoEndpoint]) -> None:
    port, _ = gateway
    answers, _ = await _exchange(port, _post("/other", b"b") + b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n", 2)
    assert [a[2] for a in answers] == [b"asgi:POST:b", b"asgi:GET:"]


async def test_pipelined_requests_are_answered_in_order(gateway: tuple[int, EchoEndpoint]) -> None:
    port, _ = gateway
    data = _post("/fast", b"slow") + _post("/other", b"x") + _post("/fast", b"c") + _post("/fast", b"d")
    answers, closed = await _exchange(port, data, 4)
    # Requests parsed while an answer is pending queue behind it through ASGI (the gateway's ASGI app
    # serves the same endpoint with a middleware), so order holds whatever the mix.
    assert [a[2] for a in answers] == [b"fast:slow", b"asgi:POST:x", b"asgi:POST:c", b"asgi:POST:d"]
    assert not closed


@pytest.mark.usefixtures("short_keep_alive")
async def test_an_answer_given_at_once_does_not_time_out_the_request_pipelined_behind_it(
    gateway: tuple[int, EchoEndpoint],
) -> None:
    """The first answer is written while the connection's data is still being parsed, which arms
    the keep-alive timer; the second request, parsed right after and answered 0.8 s later, must not
    be cut off by it (0.3 s here)."""
    port, _ = gateway
    answers, _ = await _exchange(port, _post("/fast", b"a") + _post("/fast", b"slower"), 2)
    assert [a[2] for a in answers] == [b"fast:a", b"fast:slower"]


async def test_a_body_over_the_limit_is_refused_by_the_endpoint(gateway: tuple[int, EchoEndpoint]) -> None:
    port, endpoint = gateway
    answers, closed = await _exchange(port, _post("/fast", b"x" * 100), 1)
    assert (answers[0][0], answers[0][2]) == (413, b"too large")
    assert not closed
    assert endpoint.too_large_seen == 1


async def test_http_1_0_closes_after_the_answer(gateway: tuple[int, EchoEndpoint]) -> None:
    port, _ = gateway
    answers, closed = await _exchange(port, _post("/fast", b"e", version="1.0"), 1)
    assert answers[0][2] == b"fast:e" and answers[0][1][b"connection"] == b"close"
    assert closed


async def test_an_endpoint_that_raises_gets_a_500_and_the_connection_closes(
    gateway: tuple[int, EchoEndpoint],
) -> None:
    port, _ = gateway
    answers, closed = await _exchange(port, _post("/fast", b"boom"), 1)
    assert answers[0][0] == 500 and answers[0][2] == b""
    assert closed
    answers, _ = await _exchange(port, _post("/fast", b"after"), 1)  # the server is fine
    assert answers[0][2] == b"fast:after"


async def test_a_client_that_leaves_mid_answer_does_not_break_the_server(gateway: tuple[int, EchoEndpoint]) -> None:
    port, _ = gateway
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(_post("/fast", b"slow"))
    answers, _ = await _exchange(port, _post("/fast", b"next"), 1)
    assert answers[0][2] == b"fast:next"


def test_response_head() -> None:
    head = response_head(200, [(b"content-type", b"a/b")], 5, [(b"server", b"s")], keep_alive=False)
    assert head == (
        b"HTTP/1.1 200 OK\r\nserver: s\r\ncontent-type: a/b\r\ncontent-length: 5\r\nconnection: close\r\n\r\n"
    )
