"""The RIE-compatible invoke endpoint over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from support import await_until

from kumo.runtime.host import RuntimeHost
from kumo.runtime.invoke_endpoint import make_invoke_app, serve_app

APP = """
import time
def handler(event, context):
    print("endpoint log line")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise RuntimeError("nope")
    return {"event": event, "id": context.aws_request_id,
            "custom": context.client_context.custom if context.client_context else None}
"""


@pytest.fixture
async def serve_endpoint() -> AsyncIterator[Callable[[RuntimeHost], Awaitable[int]]]:
    """Serve a host's invoke endpoint on a free loopback port (as ``kumo runtime`` does); stopped after."""
    runners = []

    async def serve(host: RuntimeHost) -> int:
        runner, port = await serve_app(make_invoke_app(lambda: host), "127.0.0.1", 0)
        runners.append(runner)
        return port

    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_invoke_endpoint_round_trip(make_config, hosts, serve_endpoint):
    config = make_config(APP, name="ep")
    host = await hosts(config)
    port = await serve_endpoint(host)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 200
        cc = base64.b64encode(json.dumps({"custom": {"a": "b"}}).encode()).decode()
        resp = await client.post(
            "/2015-03-31/functions/function/invocations",
            content=b'{"x": 1}',
            headers={"X-Amz-Log-Type": "Tail", "X-Amz-Client-Context": cc, "X-Amz-Request-Id": "ep-1"},
        )
        assert resp.status_code == 200
        assert resp.json() == {"event": {"x": 1}, "id": "ep-1", "custom": {"a": "b"}}
        assert resp.headers["X-Amz-Executed-Version"] == "$LATEST"
        assert resp.headers["X-Kumo-Instance-Reusable"] == "true"
        assert "X-Amz-Function-Error" not in resp.headers
        log = base64.b64decode(resp.headers["X-Amz-Log-Result"]).decode()
        assert "endpoint log line" in log and "REPORT RequestId: ep-1" in log

        # Any function name in the path; no request id → a generated uuid; empty body → {}.
        resp = await client.post("/2015-03-31/functions/ep/invocations")
        assert resp.json()["event"] == {}
        assert len(resp.json()["id"]) == 36
        assert "X-Amz-Log-Result" not in resp.headers

        resp = await client.post("/2015-03-31/functions/function/invocations", content=b'{"fail": 1}')
        assert resp.status_code == 200
        assert resp.headers["X-Amz-Function-Error"] == "Unhandled"
        assert resp.json()["errorType"] == "RuntimeError"

        resp = await client.post("/2015-03-31/functions/function/invocations", headers={"X-Amz-Client-Context": "%%%"})
        assert resp.status_code == 400
        assert resp.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"

        slow = asyncio.create_task(client.post("/2015-03-31/functions/function/invocations", content=b'{"sleep": 0.5}'))
        await await_until(lambda: host.busy, timeout=2, what="the instance to be busy")
        busy = await client.post("/2015-03-31/functions/function/invocations", content=b"{}")
        assert busy.status_code == 409
        assert busy.headers["x-amzn-ErrorType"] == "ResourceConflictException"
        assert busy.json() == {"Type": "User", "message": "The function instance is busy"}
        assert (await client.get("/healthz")).status_code == 503
        assert (await slow).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_invoke_endpoint_reports_unreusable_instance(make_config, hosts, serve_endpoint):
    config = make_config("import os\ndef handler(e, c):\n    os._exit(7)\n")
    host = await hosts(config)
    port = await serve_endpoint(host)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        resp = await client.post("/2015-03-31/functions/function/invocations", content=b"{}")
        assert resp.headers["X-Kumo-Instance-Reusable"] == "false"
        assert resp.headers["X-Amz-Function-Error"] == "Unhandled"
        assert resp.json()["errorType"] == "Runtime.ExitError"
        assert (await client.get("/healthz")).status_code == 503
        again = await client.post("/2015-03-31/functions/function/invocations", content=b"{}")
        assert again.status_code == 503
        assert again.headers["x-amzn-ErrorType"] == "ServiceException"
