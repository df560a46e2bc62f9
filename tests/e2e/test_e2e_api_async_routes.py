"""Api routes with ``async: true`` through ``kumo up``: the request's API Gateway event is queued (202 with
the invocation's request id, at once even for a slow function) and the worker runs the function with it;
a failing function's event goes to its dead-letter queue like any async event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from async_support import RECORDER, seen
from kumo_up import KumoUp, function_manifest, shared_dir
from support import wait_until

FAILING = """
def handler(event, context):
    raise RuntimeError("failing on purpose")
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KumoUp, Path]]:
    workdir = tmp_path_factory.mktemp("api-async")
    out = shared_dir(workdir)
    env = {"OUT_DIR": str(out)}
    manifests = [
        function_manifest("recorder", RECORDER, environment=env),
        function_manifest("failing", FAILING, **{"async": {"maxRetryAttempts": 0}}),
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "web"},
            "spec": {
                "routes": [
                    {"method": "POST", "path": "/jobs/{id}", "function": "recorder", "async": True},
                    {"method": "POST", "path": "/fail", "function": "failing", "async": True},
                    {"method": "POST", "path": "/sync", "function": "recorder"},
                ]
            },
        },
    ]
    kumo = KumoUp(manifests, workdir, args=["--async-retry-delay", "1s"])
    try:
        yield kumo, out
    finally:
        kumo.stop()


def test_an_async_route_answers_202_and_the_function_gets_the_api_event(up: tuple[KumoUp, Path]) -> None:
    kumo, out = up
    began = time.monotonic()
    response = httpx.post(f"{kumo.url}/web/$default/jobs/42?x=1", json={"sleep": 1.5, "n": 1}, timeout=30)
    assert response.status_code == 202, response.text
    assert time.monotonic() - began < 1.5  # not waiting for the function
    request_id = response.json()["requestId"]
    assert wait_until(lambda: any(r["id"] == request_id for r in seen(out, "recorder")), timeout=30)
    (run,) = [r for r in seen(out, "recorder") if r["id"] == request_id]
    event = run["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /jobs/{id}"
    assert event["rawPath"] == "/jobs/42" and event["rawQueryString"] == "x=1"
    assert event["pathParameters"] == {"id": "42"}
    assert json.loads(event["body"]) == {"sleep": 1.5, "n": 1}
    # The same route without async waits and answers the function's result.
    sync = httpx.post(f"{kumo.url}/web/$default/sync", json={"n": 2}, timeout=30)
    assert sync.status_code == 200 and json.loads(sync.json()["echo"]["body"]) == {"n": 2}


def test_a_failing_async_route_event_is_dead_lettered(up: tuple[KumoUp, Path]) -> None:
    kumo, _ = up
    response = httpx.post(f"{kumo.url}/web/$default/fail", json={"tag": "boom"}, timeout=30)
    assert response.status_code == 202
    request_id = response.json()["requestId"]
    headers = kumo.admin_headers

    def dead() -> list[dict]:
        answer = httpx.get(f"{kumo.url}/_kumo/functions/failing/dlq", headers=headers, timeout=10)
        return [r for r in answer.json()["records"] if r["requestId"] == request_id]

    assert wait_until(lambda: bool(dead()), timeout=30)
    (record,) = dead()
    assert record["attempts"] == 1
    assert record["error"]["errorMessage"] == "failing on purpose"
    assert json.loads(record["payload"]["body"]) == {"tag": "boom"}
