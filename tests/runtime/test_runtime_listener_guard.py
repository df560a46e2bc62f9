"""The pod's invoke endpoint and the Runtime API under the listener bounds; the invoke endpoint's
platform credential (real host, real child, real sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from kumo import platform_credential
from kumo.listeners import ListenerLimits
from kumo.runtime.host import RuntimeHost
from kumo.runtime.invoke_endpoint import make_invoke_app, serve_app
from kumo.runtime.runtime_server import RuntimeApiServer
from kumo.runtime.session import RuntimeSession

SECRET = "pod-test-credential"
INVOKE = "/2015-03-31/functions/function/invocations"
APP = """
import os
CALLS = []
def handler(event, context):
    CALLS.append(1)
    return {"calls": len(CALLS), "seen": os.environ.get("KUMO_PLATFORM_CREDENTIAL")}
"""


@pytest.fixture
async def endpoint() -> AsyncIterator[Callable[..., Awaitable[int]]]:
    runners = []

    async def serve(host: RuntimeHost, limits: ListenerLimits | None = None) -> int:
        runner, port = await serve_app(make_invoke_app(lambda: host, credential=SECRET), "127.0.0.1", 0, limits=limits)
        runners.append(runner)
        return port

    yield serve
    for runner in runners:
        await runner.cleanup()


async def closed_after(port: int, data: bytes, limit_s: float = 5.0) -> tuple[float, bytes]:
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


async def test_invocations_need_the_credential_and_the_function_never_sees_it(
    make_config, hosts, endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(platform_credential.ENV_VAR, SECRET)  # as in a pod: the runtime host has it
    host = await hosts(make_config(APP, name="cred"))
    port = await endpoint(host)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        for headers in ({}, {platform_credential.HEADER: "wrong"}):
            refused = await client.post(INVOKE, content=b"{}", headers=headers)
            assert refused.status_code == 403
            assert refused.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert (await client.get("/healthz")).status_code == 200  # the kubelet's probe carries none
        served = await client.post(INVOKE, content=b"{}", headers={platform_credential.HEADER: SECRET})
        assert served.status_code == 200
        assert served.json() == {"calls": 1, "seen": None}  # the refused ones never ran; the child has no credential


async def test_idle_connections_make_room_and_stalled_heads_are_cut(make_config, hosts, endpoint) -> None:
    host = await hosts(make_config(APP, name="flood"))
    limits = ListenerLimits(header_timeout_s=0.5, body_timeout_s=0.5, keepalive_timeout_s=30, max_connections=5)
    port = await endpoint(host, limits)
    flood = [await asyncio.open_connection("127.0.0.1", port) for _ in range(12)]
    try:
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
            served = await client.post(INVOKE, content=b"{}", headers={platform_credential.HEADER: SECRET})
            assert served.status_code == 200
    finally:
        for _, writer in flood:
            writer.close()
    elapsed, out = await closed_after(port, f"POST {INVOKE} HTTP/1.1\r\nHost: x\r\n".encode())
    assert elapsed < 3.0 and out == b""


async def test_runtime_api_cuts_stalled_heads_but_keeps_a_parked_next() -> None:
    session = RuntimeSession(lambda: None)
    limits = ListenerLimits(header_timeout_s=0.3, body_timeout_s=0.3, keepalive_timeout_s=0.3)
    server = RuntimeApiServer(session, limits=limits)
    port = await server.start("127.0.0.1", 0)
    try:
        elapsed, out = await closed_after(port, b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n")
        assert elapsed < 3.0 and out == b""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        with pytest.raises(TimeoutError):  # parked, waiting for an invocation: not closed by any timeout
            await asyncio.wait_for(reader.read(1), 1.2)
        writer.close()
        _, out = await closed_after(port, b"GET /x HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 431 ")
        assert json.loads(out.split(b"\r\n\r\n", 1)[1])
    finally:
        session.close()
        await server.close()
