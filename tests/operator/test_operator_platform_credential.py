"""The operator copies the platform credential into a Function's namespace and its pods read it from
there (``secretKeyRef``), as the chart's service account (RBAC enforced by the emulator)."""

from __future__ import annotations

import base64
from pathlib import Path

from chart_rbac import assert_only_granted_calls, enforce_chart_rbac
from cluster import REPO, KubeApi
from operator_support import NS, OperatorProcess, wait_for

HELLO = REPO / "examples" / "hello" / "function.yaml"
COPY = "/api/v1/namespaces/default/secrets/kumo-platform-credential"
APPS = "/apis/apps/v1/namespaces/default"


def test_function_pods_read_the_namespace_copy_of_the_platform_credential(kube_api: KubeApi, tmp_path: Path) -> None:
    user = enforce_chart_rbac(kube_api)["operator"]
    operator = OperatorProcess(kube_api, tmp_path, {"KUMO_PLATFORM_CREDENTIAL": "cluster-secret"}, user=user)
    try:
        operator.start()
        assert kube_api.kubectl("apply", "-f", str(HELLO)).returncode == 0
        fn = wait_for(
            lambda: (
                (kube_api.get(f"{NS}/functions/hello").get("status") or {}).get("version")
                and kube_api.get(f"{NS}/functions/hello")
            ),
            what="hello reconciled",
        )
        secret = kube_api.get(COPY)
        assert base64.b64decode(secret["data"]["credential"]) == b"cluster-secret"
        deployment = kube_api.get(f"{APPS}/deployments/hello-{fn['status']['version']}")
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        ref = env["KUMO_PLATFORM_CREDENTIAL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "kumo-platform-credential", "key": "credential"}
        assert "cluster-secret" not in str(deployment)
    finally:
        operator.stop()
    assert_only_granted_calls(kube_api.emulator.access_control, user)
