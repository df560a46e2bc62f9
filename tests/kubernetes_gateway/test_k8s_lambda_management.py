"""The Lambda management API in a cluster: one source of truth. boto3 against the real
``kumo gateway --kubernetes`` (emulated API server, chart RBAC enforced), a real ``kumo codestore`` and
the real operator: CreateFunction writes the code store and a Function resource that the real kubectl
shows; kubectl-applied Functions are visible through the API; updates patch the resource; delete removes it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import botocore.exceptions
import httpx
import pytest
import signing
from cluster import KubeApi
from k8s_gateway_support import GatewayProcess
from operator_support import NS, OperatorProcess, wait_for

from kumo import platform_credential
from kumo.packages.store_client import StoreClient, credential_headers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codestore"))
from code_store_process import running_code_store

CREDENTIAL = "lambda-api-test-platform-credential-0123"
ROLE = "arn:aws:iam::000000000000:role/orders"
FAST = {"Delay": 1, "MaxAttempts": 40}


def package(source: str, extra: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def b64_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store", CREDENTIAL) as running:
        yield running


@pytest.fixture
def cluster(kube_api: KubeApi, operator: OperatorProcess, gateway: GatewayProcess, store) -> Any:
    env = {"KUMO_CODE_STORE_URL": store.url, platform_credential.ENV_VAR: CREDENTIAL}
    operator.env |= env
    operator.start()
    gateway.start(env=env)
    return signing.client("lambda", gateway.url)


def kube_function(api: KubeApi, name: str) -> dict[str, Any] | None:
    response = api.request("GET", f"{NS}/functions/{name}")
    return response.json() if response.status_code == 200 else None


def error_code(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_create_update_delete_write_the_function_resource_and_the_code_store(
    kube_api: KubeApi, gateway: GatewayProcess, store, cluster: Any
) -> None:
    lam = cluster
    v1 = package("def handler(event, context):\n    return 'v1'\n")
    created = lam.create_function(
        FunctionName="orders",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": v1},
        Description="order service",
        MemorySize=256,
        Timeout=10,
        Environment={"Variables": {"STAGE": "test"}},
        Tags={"team": "payments"},
    )
    assert created["State"] == "Pending" and created["StateReasonCode"] == "Creating"
    assert created["CodeSha256"] == b64_sha(v1) and created["CodeSize"] == len(v1)
    assert created["Role"] == ROLE and created["Description"] == "order service"

    # kubectl (the real one) shows the Function the API created, with its code in the code store.
    listed = kube_api.kubectl("get", "fn", "-n", "default")
    assert listed.returncode == 0 and "orders" in listed.stdout, listed.stderr
    shown = json.loads(kube_api.kubectl("get", "fn", "orders", "-n", "default", "-o", "json").stdout)
    assert shown["spec"]["code"] == {"package": {"sha256": hashlib.sha256(v1).hexdigest(), "size": len(v1)}}
    assert shown["spec"]["memory"] == 256 and shown["spec"]["timeout"] == 10
    assert shown["spec"]["environment"] == {"STAGE": "test"}
    assert json.loads(shown["metadata"]["annotations"]["lambda.kumo.dev/tags"]) == {"team": "payments"}
    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        assert client.head(hashlib.sha256(v1).hexdigest()) == len(v1)

    # The operator rolls it out: Ready becomes State Active (the waiter boto3 users call).
    lam.get_waiter("function_active_v2").wait(FunctionName="orders", WaiterConfig=FAST)
    got = lam.get_function(FunctionName="orders")
    assert got["Configuration"]["State"] == "Active" and got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Tags"] == {"team": "payments"}
    download = httpx.get(got["Code"]["Location"], timeout=30)
    assert download.status_code == 200 and download.content == v1

    # UpdateFunctionCode patches the resource's package; a stale RevisionId is refused.
    revision = got["Configuration"]["RevisionId"]
    v2 = package("def handler(event, context):\n    return 'v2'\n", {"lib.py": "X = 2\n"})
    updated = lam.update_function_code(FunctionName="orders", ZipFile=v2, RevisionId=revision)
    assert updated["CodeSha256"] == b64_sha(v2) and updated["RevisionId"] != revision
    assert kube_function(kube_api, "orders")["spec"]["code"]["package"]["sha256"] == hashlib.sha256(v2).hexdigest()
    lam.get_waiter("function_updated_v2").wait(FunctionName="orders", WaiterConfig=FAST)
    with pytest.raises(botocore.exceptions.ClientError) as stale:
        lam.update_function_configuration(FunctionName="orders", Timeout=20, RevisionId=revision)
    assert error_code(stale) == "PreconditionFailedException"

    changed = lam.update_function_configuration(
        FunctionName="orders", Timeout=20, Environment={"Variables": {"STAGE": "prod"}}
    )
    assert changed["Timeout"] == 20 and changed["Environment"]["Variables"] == {"STAGE": "prod"}
    spec = kube_function(kube_api, "orders")["spec"]
    assert spec["timeout"] == 20 and spec["environment"] == {"STAGE": "prod"}
    assert spec["code"]["package"]["sha256"] == hashlib.sha256(v2).hexdigest()  # code kept
    lam.get_waiter("function_updated_v2").wait(FunctionName="orders", WaiterConfig=FAST)

    arn = got["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"tier": "gold"})
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"tier": "gold"}

    # A corrupted zip is refused and nothing is created: no resource, nothing in the code store.
    corrupted = bytearray(package("def handler(event, context):\n    return 1\n" * 50))
    corrupted[40:80] = bytes(40)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        lam.create_function(
            FunctionName="broken",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": bytes(corrupted)},
        )
    assert error_code(refused) == "InvalidParameterValueException"
    assert "Could not unzip uploaded file" in refused.value.response["Error"]["Message"]
    assert kube_function(kube_api, "broken") is None
    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        assert client.head(hashlib.sha256(bytes(corrupted)).hexdigest()) is None
    with pytest.raises(botocore.exceptions.ClientError) as twice:
        lam.create_function(
            FunctionName="orders", Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": v1}
        )
    assert error_code(twice) == "ResourceConflictException"

    # DeleteFunction deletes the resource.
    lam.delete_function(FunctionName="orders")
    wait_for(lambda: kube_function(kube_api, "orders") is None, what="Function orders deleted")
    with pytest.raises(botocore.exceptions.ClientError) as gone:
        lam.get_function(FunctionName="orders")
    assert error_code(gone) == "ResourceNotFoundException"
    assert "orders" not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]


PLAIN = """
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: plain
spec:
  runtime: python3.12
  handler: app.handler
  memory: 512Mi
  code:
    inline:
      app.py: |
        def handler(event, context):
            return 1
"""

MISSING_PACKAGE = f"""
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: lost
spec:
  runtime: python3.12
  handler: app.handler
  code:
    package: {{sha256: "{"ab" * 32}", size: 123}}
"""


def test_kubectl_applied_functions_are_visible_through_the_api(kube_api: KubeApi, cluster: Any) -> None:
    lam = cluster
    applied = kube_api.kubectl("apply", "-n", "default", "-f", "-", input=PLAIN + "---" + MISSING_PACKAGE)
    assert applied.returncode == 0, applied.stderr

    def listed() -> dict[str, dict[str, Any]] | None:
        functions = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
        return functions if {"plain", "lost"} <= set(functions) else None

    functions = wait_for(listed, what="kubectl-applied Functions listed")
    assert functions["plain"]["MemorySize"] == 512 and functions["plain"]["Runtime"] == "python3.12"

    lam.get_waiter("function_active_v2").wait(FunctionName="plain", WaiterConfig=FAST)
    got = lam.get_function(FunctionName="plain")
    assert got["Configuration"]["Handler"] == "app.handler" and "Location" not in got["Code"]

    # A package the code store lacks: the operator reports PackageNotFound, the API shows State Failed.
    def failed() -> dict[str, Any] | None:
        configuration = lam.get_function_configuration(FunctionName="lost")
        return configuration if configuration["State"] == "Failed" else None

    lost = wait_for(failed, what="lost Failed")
    assert lost["StateReasonCode"] == "PackageNotFound" and "not in the code store" in lost["StateReason"]
    with pytest.raises(botocore.exceptions.ClientError) as waiting:
        lam.invoke(FunctionName="lost", Payload=b"{}")
    assert error_code(waiting) == "ResourceConflictException"

    # Inline code is the manifest's: read-only through the API.
    for call in (
        lambda: lam.update_function_configuration(FunctionName="plain", Timeout=9),
        lambda: lam.update_function_code(FunctionName="plain", ZipFile=package("x = 1\n")),
        lambda: lam.delete_function(FunctionName="plain"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert error_code(refused) == "ResourceConflictException"
        assert "managed by its manifest" in refused.value.response["Error"]["Message"]
    assert kube_function(kube_api, "plain")["spec"]["timeout"] != 9
