"""`kumo deploy` against `kumo gateway --kubernetes` and a real code store: packages and layers are
built locally, uploaded through the gateway's admin path, and the printed Functions (code.package)
are accepted by the API server; the gateway refuses uploads without the admin token or over 50 MB."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml
from cluster import KubeApi
from k8s_gateway_support import KUMO, GatewayProcess

from kumo import platform_credential
from kumo.packages.code_store import PackageRef
from kumo.packages.fetch import fetch_packages
from kumo.packages.layers import LayerStore
from kumo.packages.store_client import StoreClient, credential_headers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codestore"))
from code_store_process import running_code_store

TOKEN = "deploy-test-admin-token-0123456789abcdef"
CREDENTIAL = "deploy-test-platform-credential-0123456789"
NS = "/apis/kumo.dev/v1alpha1/namespaces/default"


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store", CREDENTIAL) as running:
        yield running


def _manifests(root: Path) -> Path:
    src = root / "app" / "src"
    src.mkdir(parents=True)
    (src / "app.py").write_text("import helper\n\ndef handler(event, context):\n    return helper.VALUE\n")
    (src / "helper.py").write_text("VALUE = 42\n")
    (root / "app" / "bootstrap-src").mkdir()
    (root / "app" / "bootstrap-src" / "bootstrap").write_text("#!/bin/sh\necho hi\n")
    (root / "app" / "bootstrap-src" / "bootstrap").chmod(0o755)
    docs = [
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "orders"},
            "spec": {"runtime": "python3.12", "handler": "app.handler", "code": {"path": "src"}, "layers": ["tools"]},
        },
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "custom"},
            "spec": {"runtime": "provided.al2023", "handler": "x.y", "code": {"path": "bootstrap-src"}},
        },
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "plain"},
            "spec": {"runtime": "python3.12", "handler": "app.handler", "code": {"inline": {"app.py": "x = 1\n"}}},
        },
    ]
    (root / "app" / "functions.yaml").write_text(yaml.safe_dump_all(docs))
    return root / "app"


def _deploy(app: Path, url: str, state_dir: Path, token: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KUMO_ADMIN_TOKEN"} | (
        {"KUMO_ADMIN_TOKEN": token} if token else {}
    )
    command = [*KUMO, "deploy", str(app), "--url", url, "--state-dir", str(state_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_deploy_uploads_packages_and_layers_and_prints_code_package(
    kube_api: KubeApi, gateway: GatewayProcess, store, tmp_path: Path
) -> None:
    gateway.start(
        env={"KUMO_ADMIN_TOKEN": TOKEN, "KUMO_CODE_STORE_URL": store.url, platform_credential.ENV_VAR: CREDENTIAL}
    )
    app = _manifests(tmp_path)
    state_dir = tmp_path / "state"
    layer_dir = tmp_path / "layer" / "python"
    layer_dir.mkdir(parents=True)
    (layer_dir / "shared.py").write_text("WHO = 'layer'\n")
    assert LayerStore(state_dir).publish("tools", tmp_path / "layer") == 1

    refused = _deploy(app, gateway.url, state_dir, None)
    assert refused.returncode == 1 and "401" in refused.stderr

    done = _deploy(app, gateway.url, state_dir, TOKEN)
    assert done.returncode == 0, done.stderr + gateway.log()
    assert "function orders: package" in done.stderr and "uploaded" in done.stderr
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(done.stdout)}
    orders, custom, plain = docs["orders"]["spec"], docs["custom"]["spec"], docs["plain"]["spec"]
    assert set(orders["code"]) == {"package"} and "layers" not in orders
    assert len(orders["code"]["package"]["layers"]) == 1
    assert set(custom["code"]) == {"package"}
    assert plain["code"] == {"inline": {"app.py": "x = 1\n"}}  # deployed as it is

    again = _deploy(app, gateway.url, state_dir, TOKEN)  # same content, same addresses: nothing re-sent
    assert again.returncode == 0 and "uploaded" not in again.stderr and "already stored" in again.stderr
    assert yaml.safe_load_all(again.stdout) and again.stdout == done.stdout

    applied = kube_api.kubectl("apply", "-f", "-", input=done.stdout)
    assert applied.returncode == 0, applied.stderr
    stored = kube_api.get(f"{NS}/functions/orders")["spec"]["code"]["package"]
    assert stored == orders["code"]["package"]

    package = orders["code"]["package"]
    refs = [PackageRef(package["sha256"], package["size"])]
    layers = [PackageRef(layer["sha256"], layer["size"]) for layer in package["layers"]]
    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        fetch_packages(client, refs[0], tmp_path / "task", layers, tmp_path / "opt")
    assert (tmp_path / "task" / "helper.py").read_text() == "VALUE = 42\n"
    assert (tmp_path / "opt" / "python" / "shared.py").read_text() == "WHO = 'layer'\n"
    custom_ref = custom["code"]["package"]
    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        fetch_packages(client, PackageRef(custom_ref["sha256"], custom_ref["size"]), tmp_path / "custom")
    assert os.access(tmp_path / "custom" / "bootstrap", os.X_OK)


def test_the_gateway_guards_the_upload_path(gateway: GatewayProcess, store) -> None:
    gateway.start(
        env={"KUMO_ADMIN_TOKEN": TOKEN, "KUMO_CODE_STORE_URL": store.url, platform_credential.ENV_VAR: CREDENTIAL}
    )
    body = b"PK\x05\x06" + bytes(18)  # an empty zip
    path = f"/_kumo/packages/{hashlib.sha256(body).hexdigest()}"
    admin = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=gateway.url, timeout=30) as client:
        assert client.put(path, content=body).status_code == 401
        assert client.put(path, content=body, headers={"Authorization": "Bearer nope"}).status_code == 401
        mismatch = client.put(f"/_kumo/packages/{'0' * 64}", content=body, headers=admin)
        assert mismatch.status_code == 400 and mismatch.json()["error"] == "HashMismatch"
        big = client.put(path, content=bytes(51 * 1024 * 1024), headers=admin)
        assert big.status_code == 413 and big.json()["error"] == "PackageTooLarge"
        assert client.put(path, content=body, headers=admin).status_code == 201
        head = client.head(path, headers=admin)
        assert head.status_code == 200 and head.headers["content-length"] == str(len(body))
        bad = client.get("/_kumo/packages/xyz", headers=admin)
        assert bad.status_code == 400 and bad.json()["error"] == "InvalidAddress"
