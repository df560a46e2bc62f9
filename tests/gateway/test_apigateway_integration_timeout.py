"""The integration timeout with the real local provider (runtime processes): the function runs on after
the timeout, its instance stays acquired until it finishes and is then reused; a request still queued for
an instance leaves the queue; stopping the provider ends a background invocation and its process."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from signing import make_authenticator
from support import await_until

from kumo.catalog import Catalog
from kumo.models import Api, Function
from kumo.runtime.invocation import Invocation
from kumo_gateway.apigateway.integration import Integration, IntegrationTimeout, endpoint_timed_out
from kumo_gateway.app import create_app
from kumo_gateway.local.process_provider import LocalProvider

SOURCE = """
import json, os, time

def handler(event, context):
    if "body" in event:  # an Api event: the JSON body says how long to sleep
        event = json.loads(event["body"] or "{}")
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid()}
"""
LATEST = "$LATEST"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def invocation(catalog: Catalog, sleep: float = 0) -> Invocation:
    return Invocation(
        request_id=str(uuid.uuid4()),
        payload=json.dumps({"sleep": sleep}).encode(),
        invoked_function_arn=catalog.function_arn("sleeper"),
    )


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Catalog, LocalProvider, Integration]]:
    catalog = Catalog()
    catalog.set_function(
        Function.model_validate(
            {
                "apiVersion": "kumo.dev/v1alpha1",
                "kind": "Function",
                "metadata": {"name": "sleeper"},
                "spec": {
                    "runtime": "python3.11",
                    "handler": "app.handler",
                    "code": {"inline": {"app.py": SOURCE}},
                    "timeout": "20s",
                    "scaling": {"maxInstances": 1},
                },
            }
        )
    )
    provider = LocalProvider(catalog, state_dir=tmp_path / "state", queue_timeout_s=10)
    await provider.start()
    try:
        yield catalog, provider, Integration(provider)
    finally:
        await provider.stop()


def test_timeout_answer_shape() -> None:
    response = endpoint_timed_out()
    assert (response.status, json.loads(response.body)) == (504, {"message": "Endpoint request timed out"})
    assert response.headers == [("content-type", "application/json")]


async def test_answer_within_the_timeout(setup) -> None:
    catalog, _, integration = setup
    result = await integration.invoke("sleeper", LATEST, invocation(catalog), 10)
    assert json.loads(result.payload)["pid"] > 0
    assert not integration.background


async def test_function_runs_on_and_its_instance_is_reused(setup) -> None:
    catalog, provider, integration = setup
    warm = json.loads((await integration.invoke("sleeper", LATEST, invocation(catalog), 10)).payload)["pid"]
    started = time.monotonic()
    with pytest.raises(IntegrationTimeout):
        await integration.invoke("sleeper", LATEST, invocation(catalog, sleep=1.5), 0.3)
    assert 0.3 <= time.monotonic() - started < 1.2
    (running,) = integration.background
    pool = provider.pools[("sleeper", LATEST)]
    assert (pool.busy, pool.idle) == (1, 0), "the instance stays acquired while the function runs"

    # maxInstances 1: a second request queues behind the busy instance; at its timeout it leaves the queue.
    with pytest.raises(IntegrationTimeout):
        await integration.invoke("sleeper", LATEST, invocation(catalog), 0.2)
    await await_until(lambda: integration.background == {running}, what="the queued request to be dropped")
    assert not pool._waiters

    result = await asyncio.wait_for(running, 10)  # the function finished its work
    assert json.loads(result.payload)["pid"] == warm
    await await_until(lambda: not integration.background and pool.idle == 1, what="the instance to be released")
    again = await integration.invoke("sleeper", LATEST, invocation(catalog), 10)
    assert json.loads(again.payload)["pid"] == warm, "the same warm instance serves the next request"
    assert pool.cold_starts == 1


async def test_stopping_the_provider_ends_a_background_invocation(setup) -> None:
    catalog, provider, integration = setup
    pid = json.loads((await integration.invoke("sleeper", LATEST, invocation(catalog), 10)).payload)["pid"]
    with pytest.raises(IntegrationTimeout):
        await integration.invoke("sleeper", LATEST, invocation(catalog, sleep=15), 0.2)
    (running,) = integration.background
    await provider.stop()
    await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 5)
    assert not integration.background
    await await_until(lambda: not alive(pid), what=f"instance process {pid} to exit")


async def test_request_cancelled_while_invoking_lets_the_function_finish(setup) -> None:
    catalog, provider, integration = setup
    await integration.invoke("sleeper", LATEST, invocation(catalog), 10)  # warm: acquiring takes no step
    pool = provider.pools[("sleeper", LATEST)]
    waiting = asyncio.create_task(integration.invoke("sleeper", LATEST, invocation(catalog, sleep=0.5), 10))
    await await_until(lambda: pool.busy == 1, what="the invocation to start")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    (running,) = integration.background
    assert json.loads((await asyncio.wait_for(running, 10)).payload)["pid"] > 0
    await await_until(lambda: pool.idle == 1 and pool.busy == 0, what="the instance to be parked idle")


def test_route_timeout_over_http(tmp_path: Path, run_server) -> None:
    """504 near the route's timeout (with the Api's CORS headers); the next request is served."""
    catalog = Catalog()
    catalog.set_function(
        Function.model_validate(
            {
                "apiVersion": "kumo.dev/v1alpha1",
                "kind": "Function",
                "metadata": {"name": "sleeper"},
                "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": SOURCE}}},
            }
        )
    )
    catalog.set_api(
        Api.model_validate(
            {
                "apiVersion": "kumo.dev/v1alpha1",
                "kind": "Api",
                "metadata": {"name": "slow"},
                "spec": {
                    "routes": [
                        {"method": "POST", "path": "/quick", "function": "sleeper", "timeout": "400ms"},
                        {"method": "POST", "path": "/patient", "function": "sleeper"},
                    ],
                    "cors": {"allowOrigins": ["https://app.example.com"]},
                },
            }
        )
    )
    server = run_server(
        create_app(catalog, LocalProvider(catalog, state_dir=tmp_path / "state"), auth=make_authenticator())
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.post("/slow/$default/patient", json={}).status_code == 200  # warm, so timing is the sleep's
        started = time.monotonic()
        response = http.post("/slow/$default/quick", json={"sleep": 2}, headers={"Origin": "https://app.example.com"})
        elapsed = time.monotonic() - started
        assert (response.status_code, response.json()) == (504, {"message": "Endpoint request timed out"})
        assert 0.4 <= elapsed < 1.5
        assert response.headers["access-control-allow-origin"] == "https://app.example.com"
        assert response.headers["apigw-requestid"]
        later = http.post("/slow/$default/patient", json={"sleep": 0.1})
        assert later.status_code == 200 and later.json()["pid"] > 0
