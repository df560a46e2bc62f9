"""The operator, the emulated API server and a real code store: a package Function's pods fetch it.

The operator checks the store has the package before it rolls pods out (missing: not Ready, a
Warning event); once uploaded, the Deployment's init container is ``kumo package fetch``, and that
exact command, run here against the real store, extracts the verified package — or refuses a
corrupted one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cluster import KubeApi
from operator_support import NS, OperatorProcess, wait_for

from kumo import platform_credential
from kumo.packages.archive import archive_directory
from kumo.packages.store_client import StoreClient, credential_headers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codestore"))
from code_store_process import running_code_store

APPS = "/apis/apps/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"
CREDENTIAL = "operator-test-credential-0123456789"


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store", CREDENTIAL) as running:
        yield running


def _condition(fn: dict) -> dict | None:
    return next((c for c in (fn.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"), None)


def _run_fetch(command: list[str], code_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    assert command[:3] == ["kumo", "package", "fetch"]
    args = command[3:]
    args[args.index("--code-dir") + 1] = str(code_dir)  # the pod's emptyDir, here a temporary dir
    return subprocess.run(
        [sys.executable, "-m", "kumo_cli", "package", "fetch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_package_function_fetches_from_the_code_store(
    kube_api: KubeApi, operator: OperatorProcess, store, tmp_path: Path
) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "app.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    archive = archive_directory(code)
    operator.env |= {"KUMO_CODE_STORE_URL": store.url, platform_credential.ENV_VAR: CREDENTIAL}
    operator.start()
    sha = hashlib.sha256(archive).hexdigest()
    fn = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "orders", "namespace": "default"},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"package": {"sha256": sha, "size": len(archive)}},
        },
    }
    kube_api.create(f"{NS}/functions", fn)

    # Not uploaded yet: not Ready, a Warning event, no Deployment.
    missing = wait_for(
        lambda: (c := _condition(kube_api.get(f"{NS}/functions/orders"))) and c["reason"] == "PackageNotFound" and c,
        what="PackageNotFound",
    )
    assert missing["status"] == "False" and sha in missing["message"]
    wait_for(lambda: [e for e in kube_api.list(f"{CORE}/events") if e.get("reason") == "PackageNotFound"], what="event")
    assert kube_api.list(f"{APPS}/deployments", labelSelector="kumo.dev/function=orders") == []

    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        client.put(archive)
    kube_api.patch(f"{NS}/functions/orders", {"metadata": {"annotations": {"touch": "1"}}})
    deployments = wait_for(
        lambda: kube_api.list(f"{APPS}/deployments", labelSelector="kumo.dev/function=orders"), what="Deployment"
    )
    pod = deployments[0]["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    assert init["name"] == "fetch-package" and store.url in init["command"]
    assert {"name": "code", "mountPath": "/var/task", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert wait_for(lambda: _condition(kube_api.get(f"{NS}/functions/orders"))["status"] == "True", what="Ready")

    env = dict(os.environ, **{platform_credential.ENV_VAR: CREDENTIAL})
    done = _run_fetch(init["command"], tmp_path / "task", env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "task" / "app.py").read_text() == (code / "app.py").read_text()

    stored = store.root / sha[:2] / sha
    stored.chmod(0o644)
    stored.write_bytes(archive[:40] + bytes([archive[40] ^ 0xFF]) + archive[41:])  # same size, one byte off
    refused = _run_fetch(init["command"], tmp_path / "task2", env)
    assert refused.returncode == 1
    assert f"REFUSED: package {sha}: SHA-256 mismatch" in refused.stderr
    assert not (tmp_path / "task2").exists()
