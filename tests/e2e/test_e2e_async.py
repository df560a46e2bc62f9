"""Async invocation end to end: a real ``kumo up`` with its private Redis and worker, boto3, the CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from async_support import RECORDER, private_redis, seen
from kumo_up import KUMO, KumoUp, function_manifest, shared_dir
from support import wait_until

from kumo_gateway.async_ import keys
from kumo_gateway.async_.event_config import EventConfig
from kumo_gateway.async_.store import AsyncStore

RETRY_DELAY_S = 0.3


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_dir(tmp_path_factory.mktemp("async-out"))  # functions run sandboxed: a dir they may write


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory, out_dir: Path) -> Iterator[KumoUp]:
    env = {"OUT_DIR": str(out_dir)}
    manifests = [
        function_manifest("recorder", RECORDER, environment=env),
        function_manifest("retrier", RECORDER, environment=env, **{"async": {"maxRetryAttempts": 1}}),
        function_manifest("sink", RECORDER, environment=env),
        function_manifest(
            "routed",
            RECORDER,
            environment=env,
            **{"async": {"maxRetryAttempts": 0, "onSuccess": {"function": "sink"}, "onFailure": {"queue": "fails"}}},
        ),
        function_manifest("configured", RECORDER, environment=env),
    ]
    args = ["--async-retry-delay", f"{RETRY_DELAY_S}s", "--async-visibility-timeout", "2s"]
    up = KumoUp(manifests, tmp_path_factory.mktemp("async-up"), args=args)
    try:
        yield up
    finally:
        up.stop()


def _cli(kumo: KumoUp, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*KUMO, *args, "--url", kumo.url, "--state-dir", str(kumo.state_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _runs(out_dir: Path, function: str, request_id: str) -> list[dict]:
    return [entry for entry in seen(out_dir, function) if entry["id"] == request_id]


def test_event_invoke_answers_202_then_runs_with_the_same_request_id(kumo: KumoUp, out_dir: Path) -> None:
    answer = kumo.lambda_client().invoke(FunctionName="recorder", InvocationType="Event", Payload=b'{"n": 1}')
    assert answer["StatusCode"] == 202
    request_id = answer["ResponseMetadata"]["RequestId"]
    runs = wait_until(lambda: _runs(out_dir, "recorder", request_id), timeout=20, what="the event to run")
    assert runs[0]["event"] == {"n": 1}


def test_async_payload_limit_is_one_megabyte(kumo: KumoUp) -> None:
    client = kumo.lambda_client()
    big = json.dumps({"x": "a" * (1024 * 1024)}).encode()
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="recorder", InvocationType="Event", Payload=big)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="nope", InvocationType="Event", Payload=b"{}")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="recorder", InvocationType="Event", Payload=b"{not json")


def test_kumo_invoke_async_prints_the_request_id(kumo: KumoUp, out_dir: Path) -> None:
    result = _cli(kumo, "invoke", "recorder", "--payload", '{"cli": true}', "--async")
    assert result.returncode == 0, result.stderr
    request_id = result.stdout.strip()
    wait_until(lambda: _runs(out_dir, "recorder", request_id), timeout=20, what="the CLI's event to run")


def test_function_errors_retry_with_backoff_then_dead_letter_then_redrive(kumo: KumoUp, out_dir: Path) -> None:
    tag = uuid.uuid4().hex
    (out_dir / f"fail-{tag}").touch()
    answer = kumo.lambda_client().invoke(
        FunctionName="retrier", InvocationType="Event", Payload=json.dumps({"tag": tag})
    )
    request_id = answer["ResponseMetadata"]["RequestId"]

    def dead() -> list[dict]:
        result = _cli(kumo, "dlq", "list", "retrier", "--json")
        assert result.returncode == 0, result.stderr
        return [r for r in json.loads(result.stdout) if r["requestId"] == request_id]

    record = wait_until(dead, timeout=30, interval=0.3, what="the event in the DLQ")[0]
    runs = _runs(out_dir, "retrier", request_id)
    assert len(runs) == 2  # maxRetryAttempts 1: two invocations, same request id
    assert runs[1]["t"] - runs[0]["t"] >= RETRY_DELAY_S * 0.9
    assert record["attempts"] == 2
    assert record["payload"] == {"tag": tag}
    assert "failing on purpose" in record["error"]["errorMessage"]
    assert record["condition"] == "RetriesExhausted"
    assert record["firstAttempt"].endswith("Z") and record["lastAttempt"] > record["firstAttempt"]

    (out_dir / f"fail-{tag}").unlink()
    result = _cli(kumo, "dlq", "redrive", "retrier", "--id", record["id"])
    assert result.returncode == 0, result.stderr
    assert "redriven 1" in result.stdout
    wait_until(lambda: len(_runs(out_dir, "retrier", request_id)) == 3, timeout=20, what="the redriven run")
    assert dead() == []
    assert _cli(kumo, "dlq", "redrive", "retrier", "--id", "0-1").returncode == 1


def test_success_and_failure_destinations(kumo: KumoUp, out_dir: Path) -> None:
    client = kumo.lambda_client()
    ok = client.invoke(FunctionName="routed", InvocationType="Event", Payload=b'{"good": 1}')
    ok_id = ok["ResponseMetadata"]["RequestId"]

    def delivered() -> list[dict]:
        return [e["event"] for e in seen(out_dir, "sink") if e["event"]["requestContext"]["requestId"] == ok_id]

    record = wait_until(delivered, timeout=20, what="the success record at the sink")[0]
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"].endswith(":function:routed:$LATEST")
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["requestPayload"] == {"good": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"echo": {"good": 1}}

    tag = uuid.uuid4().hex
    (out_dir / f"fail-{tag}").touch()
    bad = client.invoke(FunctionName="routed", InvocationType="Event", Payload=json.dumps({"tag": tag}))
    bad_id = bad["ResponseMetadata"]["RequestId"]
    redis = private_redis(kumo.state_dir)
    try:

        def queued() -> list[dict]:
            bodies = [json.loads(f[b"body"]) for _, f in redis.xrange("kumo:queue:fails")]
            return [b for b in bodies if b["requestContext"]["requestId"] == bad_id]

        failure = wait_until(queued, timeout=20, what="the failure record in the queue")[0]
    finally:
        redis.close()
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert "failing on purpose" in failure["responsePayload"]["errorMessage"]


def test_event_invoke_config_through_boto3_overrides_the_manifest(kumo: KumoUp, out_dir: Path) -> None:
    client = kumo.lambda_client()
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_event_invoke_config(FunctionName="configured")
    put = client.put_function_event_invoke_config(
        FunctionName="configured",
        MaximumRetryAttempts=0,
        MaximumEventAgeInSeconds=600,
        DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:configured-fails"}},
    )
    assert put["MaximumRetryAttempts"] == 0
    got = client.get_function_event_invoke_config(FunctionName="configured")
    assert got["MaximumEventAgeInSeconds"] == 600
    assert got["DestinationConfig"]["OnFailure"]["Destination"].endswith(":configured-fails")
    updated = client.update_function_event_invoke_config(FunctionName="configured", MaximumEventAgeInSeconds=900)
    assert (updated["MaximumRetryAttempts"], updated["MaximumEventAgeInSeconds"]) == (0, 900)
    listed = client.list_function_event_invoke_configs(FunctionName="configured")["FunctionEventInvokeConfigs"]
    assert [c["MaximumEventAgeInSeconds"] for c in listed] == [900]
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.put_function_event_invoke_config(FunctionName="configured", MaximumRetryAttempts=5)

    tag = uuid.uuid4().hex
    (out_dir / f"fail-{tag}").touch()
    answer = client.invoke(FunctionName="configured", InvocationType="Event", Payload=json.dumps({"tag": tag}))
    request_id = answer["ResponseMetadata"]["RequestId"]
    redis = private_redis(kumo.state_dir)
    try:
        wait_until(
            lambda: any(
                json.loads(f[b"body"])["requestContext"]["requestId"] == request_id
                for _, f in redis.xrange("kumo:queue:configured-fails")
            ),
            timeout=20,
            what="the failure record (no retry: the API's config applies)",
        )
    finally:
        redis.close()
    assert len(_runs(out_dir, "configured", request_id)) == 1
    client.delete_function_event_invoke_config(FunctionName="configured")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_function_event_invoke_config(FunctionName="configured")


def test_an_event_older_than_max_event_age_goes_to_the_dlq_unrun(kumo: KumoUp, out_dir: Path) -> None:
    from redis.asyncio import Redis

    request_id = str(uuid.uuid4())

    async def enqueue_old() -> None:
        redis = Redis(unix_socket_path=str(kumo.state_dir / "redis" / "redis.sock"))
        try:
            await AsyncStore(redis).enqueue(
                function="recorder",
                qualifier=None,
                default_config=EventConfig(max_event_age_s=60).to_json(),
                request_id=request_id,
                version="$LATEST",
                arn="arn:aws:lambda:us-east-1:000000000000:function:recorder",
                payload=b'{"old": true}',
                enqueued_ms=int(time.time() * 1000) - 61_000,
            )
        finally:
            await redis.aclose()

    asyncio.run(enqueue_old())
    response_records = lambda: [  # noqa: E731
        r
        for r in httpx.get(f"{kumo.url}/_kumo/functions/recorder/dlq", headers=kumo.admin_headers).json()["records"]
        if r["requestId"] == request_id
    ]
    record = wait_until(response_records, timeout=20, what="the expired event in the DLQ")[0]
    assert (record["condition"], record["attempts"], record["payload"]) == ("EventAgeExceeded", 0, {"old": True})
    assert _runs(out_dir, "recorder", request_id) == []


def test_admin_dlq_needs_the_token_and_known_functions(kumo: KumoUp) -> None:
    assert httpx.get(f"{kumo.url}/_kumo/functions/recorder/dlq").status_code == 401
    assert httpx.get(f"{kumo.url}/_kumo/functions/nope/dlq", headers=kumo.admin_headers).status_code == 404
    bad = httpx.post(f"{kumo.url}/_kumo/functions/recorder/dlq/redrive", content=b"[", headers=kumo.admin_headers)
    assert bad.status_code == 400


def test_metrics_count_async_events(kumo: KumoUp) -> None:
    kumo.lambda_client().invoke(FunctionName="recorder", InvocationType="Event", Payload=b"{}")
    text = httpx.get(f"{kumo.url}/metrics", headers=kumo.admin_headers).text
    assert 'kumo_async_events_total{event="accepted"}' in text
    redis = private_redis(kumo.state_dir)
    try:
        assert int(redis.hget(keys.STATS, "accepted")) >= 1
    finally:
        redis.close()
