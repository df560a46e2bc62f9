"""The Runtime API server on real loopback sockets: pipelining, 100-continue, bad input, shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from support import await_until

from kumo.runtime import runtime_api as api
from kumo.runtime.invocation import Invocation
from kumo.runtime.runtime_server import RuntimeApiServer
from kumo.runtime.session import RuntimeSession

NEXT = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"


def post(path: str, body: bytes = b"{}", extra: str = "") -> bytes:
    head = f"POST /2018-06-01/runtime/{path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


class Served:
    def __init__(self, session: RuntimeSession, server: RuntimeApiServer, port: int, drained: list[int]) -> None:
        self.session, self.server, self.port, self.drained = session, server, port, drained

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    drained: list[int] = []
    session = RuntimeSession(lambda: drained.append(1))
    server = RuntimeApiServer(session)
    port = await server.start("127.0.0.1", 0)
    try:
        yield Served(session, server, port, drained)
    finally:
        session.close()
        await server.close()


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", 0))), 5)
    return int(lines[0].split()[1]), headers, body


def waiting_runtimes(served: Served):  # type: ignore[no-untyped-def]
    """How many runtime connections wait in /next (the session's receivers), as a predicate."""
    return lambda: len(served.session._receivers)


def invocation(rid: str, payload: bytes = b'{"n": 1}', **kw) -> Invocation:
    return Invocation(rid, payload, "arn:aws:lambda:us-east-1:000000000000:function:f", **kw)


async def test_next_waits_for_an_event_then_response_is_accepted(served):
    reader, writer = await served.connect()
    try:
        writer.write(NEXT)
        await await_until(served.session.init_result.done, what="the first /next to end init")
        active = served.session.submit(invocation("r1", trace_id="Root=1-abc"), 3.0)
        status, headers, body = await read_answer(reader)
        assert (status, body) == (200, b'{"n": 1}')
        assert headers["lambda-runtime-aws-request-id"] == "r1"
        assert headers["lambda-runtime-trace-id"] == "Root=1-abc"
        assert headers["lambda-runtime-invoked-function-arn"].endswith(":function:f")
        assert int(headers["lambda-runtime-deadline-ms"]) > 0
        writer.write(post("invocation/r1/response", b'"done"'))
        assert await read_answer(reader) == (
            202,
            {"content-type": "application/json", "content-length": "15"},
            b'{"status":"OK"}',
        )
        assert (await active.outcome).payload == b'"done"'
        assert served.drained  # the child's output pipe was drained before the outcome
    finally:
        writer.close()


async def test_pipelined_result_and_next_are_answered_in_one_write(served):
    reader, writer = await served.connect()
    try:
        served.session.submit(invocation("p1"), 3.0)  # pending before the runtime asks
        writer.write(NEXT)
        assert (await read_answer(reader))[0] == 200
        writer.write(post("invocation/p1/response", b"1") + NEXT)
        await await_until(waiting_runtimes(served), what="the pipelined /next to wait for an event")
        assert (await served.session.active.outcome).payload == b"1"  # the response was taken
        # The 202 is held back while the pipelined /next waits: nothing to read yet.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.05)
        served.session.submit(invocation("p2", b"[2]"), 3.0)
        data = await asyncio.wait_for(reader.read(65536), 5)
        assert data.startswith(api.ACCEPTED) and data.endswith(b"\r\n\r\n[2]")  # both arrived at once
    finally:
        writer.close()


async def test_expect_100_continue_chunked_bodies_and_error_posts(served):
    reader, writer = await served.connect()
    try:
        active = served.session.submit(invocation("c1"), 3.0)
        writer.write(NEXT)
        await read_answer(reader)
        head = "POST /2018-06-01/runtime/invocation/c1/error HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        head += f"Transfer-Encoding: chunked\r\n{api.ERROR_TYPE_HEADER}: Custom.Bad\r\n\r\n"
        writer.write(head.encode())
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == api.CONTINUE
        writer.write(b"5\r\nplain\r\n5\r\n text\r\n0\r\n\r\n")
        assert (await read_answer(reader))[0] == 202
        outcome = await active.outcome
        assert outcome.function_error == "Unhandled"
        assert json.loads(outcome.payload) == {"errorMessage": "plain text", "errorType": "Custom.Bad"}
    finally:
        writer.close()


async def test_bad_requests_get_lambda_shaped_errors(served):
    reader, writer = await served.connect()
    try:
        writer.write(post("invocation/nobody/response"))
        status, _, body = await read_answer(reader)
        assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
        writer.write(b"DELETE /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = await read_answer(reader)
        assert status == 404 and json.loads(body)["errorType"] == "NotFound"
        writer.write(b"this is not http\r\n\r\n")
        status, headers, body = await read_answer(reader)
        assert status == 400 and json.loads(body)["errorType"] == "InvalidRequest"
        assert headers["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed
    finally:
        writer.close()


async def test_connection_close_and_shutdown_release_the_runtime(served):
    reader, writer = await served.connect()
    writer.write(post("init/error", b'{"errorMessage": "x", "errorType": "E"}', "Connection: close\r\n"))
    assert (await read_answer(reader))[0] == 202
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert served.session.init_result.result() == b'{"errorMessage": "x", "errorType": "E"}'

    reader, writer = await served.connect()
    try:
        writer.write(NEXT)
        await await_until(waiting_runtimes(served), what="the runtime to wait in /next")
        served.session.close()
        status, _, body = await read_answer(reader)
        assert status == 503 and json.loads(body)["errorType"] == "ServiceUnavailable"
    finally:
        writer.close()


async def test_a_runtime_that_hangs_up_in_next_does_not_get_the_event(served):
    _, writer = await served.connect()
    writer.write(NEXT)
    await await_until(waiting_runtimes(served), what="the runtime to wait in /next")
    writer.close()
    await await_until(lambda: not waiting_runtimes(served)(), what="the hang-up to withdraw the waiting /next")
    active = served.session.submit(invocation("later"), 3.0)
    assert active.handed_out_at is None  # pending for the next runtime connection
    reader, writer = await served.connect()
    try:
        writer.write(NEXT)
        status, headers, _ = await read_answer(reader)
        assert status == 200 and headers["lambda-runtime-aws-request-id"] == "later"
    finally:
        writer.close()


def test_next_response_headers_cannot_be_split():
    context = "eyJjdXN0b20iOgogeyJrIjogInYifX0="  # base64 of '{"custom":\n {"k": "v"}}'
    data = api.next_response(invocation("r\r\nX-Evil: 1", client_context=context), 5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert body == b'{"n": 1}'
    lines = head.split(b"\r\n")
    assert b"Lambda-Runtime-Aws-Request-Id: r  X-Evil: 1" in lines
    assert not any(line.startswith(b"X-Evil") for line in lines)
    context_line = next(line for line in lines if line.startswith(b"Lambda-Runtime-Client-Context"))
    assert json.loads(context_line.split(b": ", 1)[1]) == {"custom": {"k": "v"}}


def test_routes():
    assert api.route(b"GET", "/2018-06-01/runtime/invocation/next") == (api.Route.NEXT, "")
    assert api.route(b"POST", "/2018-06-01/runtime/invocation/abc/response?x=1") == (api.Route.RESPONSE, "abc")
    assert api.route(b"POST", "/2018-06-01/runtime/invocation/abc/error") == (api.Route.ERROR, "abc")
    assert api.route(b"POST", "/2018-06-01/runtime/init/error") == (api.Route.INIT_ERROR, "")
    assert api.route(b"POST", "/2018-06-01/runtime/invocation//response")[0] is api.Route.NOT_FOUND
    assert api.route(b"GET", "/2018-06-01/runtime/invocation/abc/response")[0] is api.Route.NOT_FOUND


def test_bootstrap_knows_the_hosts_constant_answer():
    from kumo_runtime_python import bootstrap

    assert bootstrap.ACCEPTED == api.ACCEPTED
