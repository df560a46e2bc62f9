"""Authentication through a real ``kumo up``: SigV4 with boto3 and the AWS CLI, functions calling the
platform with their own keys, ``kumo credentials``, the admin token, ``--insecure-no-auth``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import botocore
import httpx
import pytest
from botocore.exceptions import ClientError
from kumo_up import KUMO, KumoUp, function_manifest

from kumo.access_keys import AccessKey

CALLER = """
import json, boto3

def handler(event, context):
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    answer = boto3.client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"from": "caller"}))
    return {"tables": tables, "echo": json.loads(answer["Payload"].read())}
"""
ECHO = "def handler(event, context):\n    return event\n"
TABLE = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Table",
    "metadata": {"name": "notes"},
    "spec": {"partitionKey": {"name": "id", "type": "S"}},
}


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    kumo = KumoUp(
        [function_manifest("echo", ECHO), function_manifest("caller", CALLER, timeout=30), TABLE],
        tmp_path_factory.mktemp("kumo-auth"),
    )
    try:
        yield kumo
    finally:
        kumo.stop()


def code_of(call) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def cli(up: KumoUp, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*KUMO, "credentials", *args, "--url", up.url, "--state-dir", str(up.state_dir)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_secrets_are_private_files(up: KumoUp) -> None:
    assert stat.S_IMODE(os.stat(up.state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(up.state_dir / "credentials.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(up.state_dir / "admin-token").st_mode) == 0o600
    assert up.key.secret_access_key not in up.output().replace(f"AWS_SECRET_ACCESS_KEY={up.key.secret_access_key}", "")


def test_unsigned_and_wrongly_signed_calls_are_refused(up: KumoUp) -> None:
    for service, call in (("lambda", "list_functions"), ("dynamodb", "list_tables")):
        unsigned = up.client(service, signature_version=botocore.UNSIGNED)
        assert code_of(getattr(unsigned, call)) == "MissingAuthenticationTokenException"
        wrong = up.client(service, AccessKey(up.key.access_key_id, "w" * 40))
        assert code_of(getattr(wrong, call)) == "InvalidSignatureException"
        unknown = up.client(service, AccessKey("KUMONOTAKEY000000000", "w" * 40))
        assert code_of(getattr(unknown, call)) == "UnrecognizedClientException"
        assert getattr(up.client(service), call)()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_function_calls_the_platform_with_its_own_key(up: KumoUp) -> None:
    result = up.lambda_client().invoke(FunctionName="caller", Payload=b"{}")
    assert "FunctionError" not in result, result["Payload"].read()
    assert json.loads(result["Payload"].read()) == {"tables": ["notes"], "echo": {"from": "caller"}}
    listed = [json.loads(line) for line in cli(up, "list").stdout.splitlines()]
    assert {"default", "function:caller"} <= {key["name"] for key in listed}


def test_an_sdk_configured_only_by_the_exported_variables_works(up: KumoUp) -> None:
    # the banner's export lines are all boto3 needs (the AWS CLI is not installed on a fresh machine)
    script = "import boto3; r = boto3.client('lambda').invoke(FunctionName='echo', Payload=b'[1]')\n" + (
        "print(r['Payload'].read().decode())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=up.aws_env(), check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [1]


def test_credentials_create_limit_and_revoke(up: KumoUp) -> None:
    created = cli(up, "create", "--name", "ci", "--allow", "lambda:InvokeFunction", "--resource", "function:echo")
    assert created.returncode == 0, created.stderr
    values = dict(line.split("=", 1) for line in created.stdout.splitlines())
    key = AccessKey(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"], "ci")
    lam = up.client("lambda", key)
    assert lam.invoke(FunctionName="echo", Payload=b"{}")["StatusCode"] == 200
    assert code_of(lambda: lam.invoke(FunctionName="caller", Payload=b"{}")) == "AccessDeniedException"
    assert code_of(up.client("dynamodb", key).list_tables) == "AccessDeniedException"
    listing = cli(up, "list").stdout
    assert key.access_key_id in listing and key.secret_access_key not in listing
    revoked = cli(up, "revoke", key.access_key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert code_of(lambda: lam.invoke(FunctionName="echo", Payload=b"{}")) == "UnrecognizedClientException"
    assert cli(up, "revoke", key.access_key_id).returncode == 1


def test_the_admin_api_needs_the_token(up: KumoUp) -> None:
    before = [line for line in cli(up, "list").stdout.splitlines()]
    refused = httpx.post(f"{up.url}/_kumo/credentials", json={"name": "sneaky"}, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"] == "Unauthorized"
    wrong = httpx.post(f"{up.url}/_kumo/credentials", json={}, headers={"Authorization": "Bearer no"}, timeout=10)
    assert wrong.status_code == 401
    assert cli(up, "list").stdout.splitlines() == before
    no_token = subprocess.run(
        [*KUMO, "credentials", "list", "--url", up.url, "--state-dir", str(up.state_dir / "nowhere")],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "KUMO_ADMIN_TOKEN"},
        check=False,
    )
    assert no_token.returncode == 1 and "Authorization" in no_token.stderr


def test_insecure_no_auth_refuses_a_public_host(tmp_path) -> None:
    done = subprocess.run(
        [*KUMO, "up", "--insecure-no-auth", "--host", "0.0.0.0", "--state-dir", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--insecure-no-auth" in done.stderr and "loopback" in done.stderr


def test_insecure_no_auth_serves_unsigned_calls_and_says_so(tmp_path) -> None:
    up = KumoUp([function_manifest("echo", ECHO)], tmp_path, args=["--insecure-no-auth"])
    try:
        unsigned = up.client("lambda", signature_version=botocore.UNSIGNED)
        assert unsigned.invoke(FunctionName="echo", Payload=b'{"a": 1}')["StatusCode"] == 200
        assert "WARNING: --insecure-no-auth" in up.output()
        assert not (up.state_dir / "credentials.json").exists()
    finally:
        up.stop()


def test_the_default_key_survives_a_restart(tmp_path) -> None:
    first = KumoUp([function_manifest("echo", ECHO)], tmp_path)
    try:
        key = first.key
    finally:
        first.stop()
    second = KumoUp([function_manifest("echo", ECHO)], tmp_path)
    try:
        assert second.key == key
        assert second.client("lambda", key).invoke(FunctionName="echo", Payload=b"{}")["StatusCode"] == 200
    finally:
        second.stop()
