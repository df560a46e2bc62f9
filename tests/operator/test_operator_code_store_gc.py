"""The code store's garbage collection, for real: the operator, the emulated API server, a real code store.

Archives a Function (its package, its layers) or a ``kumo.dev/layer`` ConfigMap names stay however
old; an unreferenced archive goes once it is past the grace period, a recent one stays; deleting
the Function lets its archives go.
"""

from __future__ import annotations

import io
import os
import sys
import time
import zipfile
from pathlib import Path

import pytest
from cluster import KubeApi
from operator_support import NS, OperatorProcess, wait_for

from kumo import platform_credential
from kumo.packages.code_store import PackageRef
from kumo.packages.store_client import StoreClient, credential_headers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codestore"))
from code_store_process import CodeStore, running_code_store

CORE = "/api/v1/namespaces/default"
CREDENTIAL = "operator-gc-credential-0123456789"
OLD_S = 3 * 3600  # older than the one-hour grace period


@pytest.fixture
def store(tmp_path: Path):
    with running_code_store(tmp_path / "store", CREDENTIAL) as running:
        yield running


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"NAME = {name!r}\n")
    return buffer.getvalue()


def _stored(store: CodeStore, ref: PackageRef) -> Path:
    return store.root / ref.sha256[:2] / ref.sha256


def test_the_operator_deletes_unreferenced_archives_past_the_grace_period(
    kube_api: KubeApi, operator: OperatorProcess, store: CodeStore
) -> None:
    names = ("package", "layer", "cm-layer", "orphan", "fresh")
    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        refs = {name: client.put(_zip(name))[0] for name in names}
    for name in names[:-1]:  # all but "fresh" were uploaded long ago
        moment = time.time() - OLD_S
        os.utime(_stored(store, refs[name]), (moment, moment))

    package, layer = refs["package"], refs["layer"]
    fn = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "orders", "namespace": "default"},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {
                "package": {
                    "sha256": package.sha256,
                    "size": package.size,
                    "layers": [{"sha256": layer.sha256, "size": layer.size}],
                }
            },
        },
    }
    kube_api.create(f"{NS}/functions", fn)
    kube_api.create(
        f"{CORE}/configmaps",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "layer-shared-1", "labels": {"kumo.dev/layer": "shared"}},
            "data": {"sha256": refs["cm-layer"].sha256, "size": str(refs["cm-layer"].size)},
        },
    )
    operator.env |= {
        "KUMO_CODE_STORE_URL": store.url,
        platform_credential.ENV_VAR: CREDENTIAL,
        "KUMO_CODE_STORE_GC_INTERVAL_S": "0.5",
        "KUMO_CODE_STORE_GC_GRACE_S": "3600",
    }
    operator.start()

    # One pass decides every archive at once: when the orphan is gone, the others were kept by that pass.
    wait_for(lambda: not _stored(store, refs["orphan"]).exists(), timeout_s=60, what="the orphan deleted")
    assert all(_stored(store, refs[name]).exists() for name in ("package", "layer", "cm-layer", "fresh"))
    assert "code store collection: deleted 1 of 1" in operator.current_log()

    # The Function goes: its package and layer are unreferenced and old, so they go too.
    kube_api.request("DELETE", f"{NS}/functions/orders").raise_for_status()
    wait_for(
        lambda: not _stored(store, package).exists() and not _stored(store, layer).exists(),
        timeout_s=60,
        what="the deleted Function's archives collected",
    )
    assert _stored(store, refs["cm-layer"]).exists() and _stored(store, refs["fresh"]).exists()

    # The layer ConfigMap goes: its archive follows; the fresh upload still waits out its grace period.
    kube_api.request("DELETE", f"{CORE}/configmaps/layer-shared-1").raise_for_status()
    wait_for(lambda: not _stored(store, refs["cm-layer"]).exists(), timeout_s=60, what="the layer's archive collected")
    assert _stored(store, refs["fresh"]).exists()
    assert "collection skipped" not in operator.log()


def test_a_pass_that_cannot_see_everything_deletes_nothing(
    kube_api: KubeApi, operator: OperatorProcess, store: CodeStore
) -> None:
    with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
        orphan, _ = client.put(_zip("orphan"))
    moment = time.time() - OLD_S
    os.utime(_stored(store, orphan), (moment, moment))
    operator.env |= {
        "KUMO_CODE_STORE_URL": store.url,
        platform_credential.ENV_VAR: "not-the-store-credential-0123456789",
        "KUMO_CODE_STORE_GC_INTERVAL_S": "0.5",
    }
    operator.start()
    wait_for(lambda: "code store collection skipped" in operator.current_log(), timeout_s=60, what="a skipped pass")
    assert "403" in operator.current_log()
    assert _stored(store, orphan).exists()
