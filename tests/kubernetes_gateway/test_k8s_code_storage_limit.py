"""The code storage limit in a cluster: a real `kumo codestore --storage-limit`, the real
`kumo gateway --kubernetes` (emulated API server, chart RBAC enforced) and the real operator. boto3's
CreateFunction, UpdateFunctionCode and PublishLayerVersion of a new archive over the limit get Lambda's
`CodeStorageExceededException` and leave nothing behind; an archive the store has costs nothing again;
`kumo deploy` says the store is full and which limit to raise."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
import signing
import yaml
from cluster import KubeApi
from k8s_gateway_support import KUMO, GatewayProcess
from operator_support import NS, OperatorProcess

from kumo import platform_credential
from kumo.packages.storage_limit import LAMBDA_ERROR
from kumo.packages.store_client import StoreClient, credential_headers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codestore"))
from code_store_process import CodeStore, running_code_store

CREDENTIAL = "storage-limit-test-platform-credential-0123"
TOKEN = "storage-limit-test-admin-token-0123456789"
ROLE = "arn:aws:iam::000000000000:role/orders"
FAST = {"Delay": 1, "MaxAttempts": 40}
LIMIT = 50_000


def package(noise: int) -> bytes:
    """A function zip of about ``noise`` bytes (random, stored: it does not compress)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
        archive.writestr("noise.bin", os.urandom(noise))
    return buffer.getvalue()


def refused(exc: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> None:
    error = exc.value.response["Error"]
    assert error["Code"] == LAMBDA_ERROR and exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Code storage limit exceeded" in error["Message"] and f"the limit is {LIMIT} bytes" in error["Message"]
    assert "codeStore.storageLimit" in error["Message"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CodeStore]:
    with running_code_store(tmp_path / "store", CREDENTIAL, args=("--storage-limit", str(LIMIT))) as running:
        yield running


def stored(store: CodeStore) -> list[str]:
    return sorted(p.name for p in store.root.glob("??/*"))


def test_new_archives_over_the_limit_get_code_storage_exceeded(
    kube_api: KubeApi, operator: OperatorProcess, gateway: GatewayProcess, store: CodeStore
) -> None:
    env = {"KUMO_CODE_STORE_URL": store.url, platform_credential.ENV_VAR: CREDENTIAL}
    operator.env |= env
    operator.start()
    gateway.start(env=env)
    lam: Any = signing.client("lambda", gateway.url)
    first = package(30_000)

    def create(name: str, data: bytes) -> dict[str, Any]:
        return lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": data}
        )

    create("orders", first)
    with pytest.raises(botocore.exceptions.ClientError) as over:
        create("billing", package(30_000))
    refused(over)
    assert kube_api.request("GET", f"{NS}/functions/billing").status_code == 404
    assert stored(store) == [hashlib.sha256(first).hexdigest()]

    # the same archive again costs nothing: a second function with the first one's code fits
    assert create("orders-copy", first)["CodeSize"] == len(first)

    with pytest.raises(botocore.exceptions.ClientError) as layer:
        lam.publish_layer_version(LayerName="tools", Content={"ZipFile": package(30_000)})
    refused(layer)
    assert lam.list_layer_versions(LayerName="tools")["LayerVersions"] == []

    lam.get_waiter("function_active_v2").wait(FunctionName="orders", WaiterConfig=FAST)
    with pytest.raises(botocore.exceptions.ClientError) as update:
        lam.update_function_code(FunctionName="orders", ZipFile=package(30_000))
    refused(update)
    shown = kube_api.request("GET", f"{NS}/functions/orders").json()
    assert shown["spec"]["code"]["package"]["sha256"] == hashlib.sha256(first).hexdigest()
    assert stored(store) == [hashlib.sha256(first).hexdigest()]

    # a small archive still fits under the limit
    small = package(100)
    assert lam.update_function_code(FunctionName="orders", ZipFile=small)["CodeSize"] == len(small)


def test_kumo_deploy_says_the_store_is_full(gateway: GatewayProcess, tmp_path: Path) -> None:
    filler = package(40_000)
    root = tmp_path / "store"
    with running_code_store(root, CREDENTIAL, args=("--storage-limit", str(len(filler) + 50))) as store:
        with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
            client.put(filler)
        env = {"KUMO_ADMIN_TOKEN": TOKEN, "KUMO_CODE_STORE_URL": store.url, platform_credential.ENV_VAR: CREDENTIAL}
        gateway.start(env=env)
        app = tmp_path / "app"
        (app / "src").mkdir(parents=True)
        (app / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n" + "# padding\n" * 50)
        function = {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "orders"},
            "spec": {"runtime": "python3.12", "handler": "app.handler", "code": {"path": "src"}},
        }
        (app / "functions.yaml").write_text(yaml.safe_dump(function))
        command = [*KUMO, "deploy", str(app), "--url", gateway.url, "--state-dir", str(tmp_path / "state")]
        done = subprocess.run(
            command, env=os.environ | {"KUMO_ADMIN_TOKEN": TOKEN}, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 1 and done.stdout == ""
    assert "kumo deploy: the cluster's code store is full: Code storage limit exceeded" in done.stderr
    assert "helm upgrade --set-string codeStore.storageLimit=" in done.stderr and "Traceback" not in done.stderr
    assert stored(store) == [hashlib.sha256(filler).hexdigest()]
