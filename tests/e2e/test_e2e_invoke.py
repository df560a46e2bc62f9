"""Invoking functions through ``kumo up`` with plain HTTP and with unchanged boto3."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest


def test_invoke_over_http_returns_result_and_context(kumo):
    response = httpx.post(
        f"{kumo.url}/2015-03-31/functions/echo/invocations", json={"a": 1}, timeout=30, auth=kumo.auth()
    )
    assert response.status_code == 200
    assert response.headers["X-Amz-Executed-Version"] == "$LATEST"
    body = response.json()
    assert body["event"] == {"a": 1}
    assert body["function_name"] == "echo"
    assert int(body["memory"]) == 256
    assert body["arn"].endswith(":function:echo")
    assert 0 < body["remaining"] <= 30_000
    assert body["greeting"] == "hi"
    assert body["region"] == "us-east-1"


def test_invoke_with_boto3(kumo):
    client = kumo.lambda_client()
    result = client.invoke(FunctionName="echo", Payload=json.dumps({"name": "kumo"}))
    assert result["StatusCode"] == 200
    assert "FunctionError" not in result
    body = json.loads(result["Payload"].read())
    assert body["event"] == {"name": "kumo"}
    # As on AWS, the handler's context.aws_request_id is the invocation's x-amzn-RequestId (a UUID v4).
    request_id = result["ResponseMetadata"]["RequestId"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", request_id)
    assert body["request_id"] == request_id


def test_boto3_by_arn_and_qualifier(kumo):
    client = kumo.lambda_client()
    arn = "arn:aws:lambda:us-east-1:000000000000:function:echo"
    assert client.invoke(FunctionName=arn, Qualifier="$LATEST")["StatusCode"] == 200
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="echo", Qualifier="7")


def test_dry_run(kumo):
    client = kumo.lambda_client()
    assert client.invoke(FunctionName="echo", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="nope", InvocationType="DryRun")


def test_unknown_function_is_404(kumo):
    client = kumo.lambda_client()
    with pytest.raises(client.exceptions.ResourceNotFoundException) as info:
        client.invoke(FunctionName="does-not-exist", Payload=b"{}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "does-not-exist" in str(info.value)


def test_oversized_payload_is_413(kumo):
    client = kumo.lambda_client()
    payload = json.dumps({"blob": "x" * (6 * 1024 * 1024)})
    with pytest.raises(client.exceptions.RequestTooLargeException):
        client.invoke(FunctionName="echo", Payload=payload)


def test_invalid_json_is_400(kumo):
    client = kumo.lambda_client()
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="echo", Payload=b"{not json")


def test_tail_logs(kumo):
    client = kumo.lambda_client()
    result = client.invoke(FunctionName="logging", Payload=b'{"lines": 3}', LogType="Tail")
    log = base64.b64decode(result["LogResult"]).decode()
    assert "log line 0" in log and "log line 2" in log
    assert "START RequestId:" in log and "REPORT RequestId:" in log
    result = client.invoke(FunctionName="logging", Payload=b'{"lines": 2000}', LogType="Tail")
    tail = base64.b64decode(result["LogResult"])
    assert len(tail) <= 4096
    assert b"log line 1999" in tail and b"log line 0\n" not in tail


def test_warm_reuse_keeps_module_state(kumo):
    client = kumo.lambda_client()
    first = json.loads(client.invoke(FunctionName="echo", Payload=b"{}")["Payload"].read())
    second = json.loads(client.invoke(FunctionName="echo", Payload=b"{}")["Payload"].read())
    assert second["pid"] == first["pid"]
    assert second["count"] == first["count"] + 1


def test_python312_runtime(kumo):
    client = kumo.lambda_client()
    body = json.loads(client.invoke(FunctionName="echo312", Payload=b'{"v": 1}')["Payload"].read())
    assert body["event"] == {"v": 1}


def test_kumo_invoke_cli(kumo):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "kumo_cli", "invoke", "echo", "--payload", '{"cli": true}', "--url", kumo.url],
        capture_output=True,
        text=True,
        timeout=60,
        env=kumo.aws_env(),  # signed with the exported default key
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["event"] == {"cli": True}
    done = subprocess.run(
        [sys.executable, "-m", "kumo_cli", "invoke", "nope", "--url", kumo.url, "--state-dir", str(kumo.state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "ResourceNotFoundException" in done.stderr


def test_throttled_function_is_429(kumo):
    client = kumo.lambda_client()
    with pytest.raises(client.exceptions.TooManyRequestsException) as info:
        client.invoke(FunctionName="disabled", Payload=b"{}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
