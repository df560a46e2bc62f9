"""Concurrency limits through ``kumo up --concurrency-limit``: the account limit and reserved concurrency
refuse calls over them with 429 ``TooManyRequestsException`` and the right ``Reason``; reserved
concurrency caps how many invocations run at once (measured by the function itself)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from kumo_up import KumoUp, function_manifest, shared_dir

SLOW = """
import json, os, time

def handler(event, context):
    started = time.time()
    time.sleep(event.get("sleep", 1.0))
    with open(os.environ["TRACE"], "a") as out:
        out.write(json.dumps({"start": started, "end": time.time()}) + "\\n")
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    workdir = tmp_path_factory.mktemp("concurrency")
    manifests = [
        function_manifest(
            "capped",
            SLOW,
            environment={"TRACE": str(shared_dir(workdir) / "capped.jsonl")},
            concurrency={"reserved": 2},
        ),
        function_manifest("open", SLOW, environment={"TRACE": str(shared_dir(workdir) / "open.jsonl")}),
    ]
    # Account limit 3, of which 2 reserved for "capped": the other functions share 1.
    up = KumoUp(manifests, workdir, args=["--concurrency-limit", "3"])
    try:
        yield up
    finally:
        up.stop()


def _call(kumo: KumoUp, function: str, sleep: float) -> httpx.Response:
    return httpx.post(
        f"{kumo.url}/2015-03-31/functions/{function}/invocations",
        json={"sleep": sleep},
        timeout=60,
        auth=kumo.auth(),
    )


def _max_overlap(trace: Path) -> int:
    events = []
    for line in trace.read_text().splitlines():
        span = json.loads(line)
        events += [(span["start"], 1), (span["end"], -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def test_reserved_concurrency_caps_parallel_executions(kumo: KumoUp) -> None:
    assert _call(kumo, "capped", 0.0).status_code == 200  # warm one instance first
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: _call(kumo, "capped", 1.5), range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2 and statuses.count(429) >= 1, statuses
    assert set(statuses) == {200, 429}
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["x-amzn-ErrorType"].startswith("TooManyRequestsException")
    assert refused.json()["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert refused.headers["Retry-After"] == "1"
    peak = _max_overlap(shared_dir(kumo.workdir) / "capped.jsonl")
    print(f"capped: {statuses.count(200)} ran, {statuses.count(429)} refused, at most {peak} at once (reserved 2)")
    assert 1 <= peak <= 2


def test_the_account_limit_refuses_with_its_reason_through_boto3(kumo: KumoUp) -> None:
    client = kumo.lambda_client()

    def call(_: int) -> str:
        try:
            client.invoke(FunctionName="open", Payload=json.dumps({"sleep": 1.5}))
            return "ran"
        except client.exceptions.TooManyRequestsException as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            return exc.response["Reason"]

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(call, range(4)))
    assert outcomes.count("ran") == 1, outcomes  # 3 - 2 reserved = 1 unreserved slot
    assert outcomes.count("ConcurrentInvocationLimitExceeded") == 3
    # The leases were all given back: a call now runs.
    assert _call(kumo, "open", 0.0).status_code == 200
