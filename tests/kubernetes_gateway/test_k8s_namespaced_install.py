"""A namespaced install (``watchNamespace``): the operator and the gateway work on the Roles the chart
grants them in that one namespace, with no cluster-wide permission at all."""

from __future__ import annotations

from pathlib import Path

import httpx
import signing
from chart_rbac import assert_only_granted_calls, enforce_chart_rbac
from cluster import REPO, KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import NS, OperatorProcess, wait_for

HELLO = REPO / "examples" / "hello" / "function.yaml"


def test_namespaced_install_serves_on_its_roles_only(kube_api: KubeApi, pods: PodFarm, tmp_path: Path) -> None:
    users = enforce_chart_rbac(kube_api, "watchNamespace=default")
    control = kube_api.emulator.access_control
    # The chart binds Roles only: any cluster-wide call (kopf's namespace/CRD scans) would be refused.
    chart_bindings = [b for b in control.policy.bindings if b["metadata"]["name"] != "system:discovery"]
    assert {b["kind"] for b in chart_bindings} == {"RoleBinding"}
    operator = OperatorProcess(kube_api, tmp_path, user=users["operator"])
    gateway = GatewayProcess(kube_api, tmp_path, user=users["gateway"])
    try:
        operator.start("--namespace", "default")
        gateway.start()  # --namespace=default, as the chart passes it for watchNamespace
        with DeploymentController(kube_api.url, pods.endpoints_for):
            assert kube_api.kubectl("apply", "-f", str(HELLO)).returncode == 0
            wait_for(lambda: kube_api.get(f"{NS}/functions/hello").get("status", {}).get("version"), what="version")
            with httpx.Client(base_url=gateway.url, timeout=60, auth=signing.auth()) as client:
                url = "/2015-03-31/functions/hello/invocations"
                answer = wait_for(
                    lambda: (r := client.post(url, json={"name": "ns"})).status_code not in (404, 409) and r,
                    timeout_s=30,
                    what="hello served by the gateway",
                )
                assert answer.status_code == 200, (answer.text, gateway.log())
                assert answer.json() == {"message": "Hello, ns!"}
    finally:
        gateway.stop()
        operator.stop()
    assert_only_granted_calls(control, users["operator"], users["gateway"])
