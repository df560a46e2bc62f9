"""Published versions and aliases in a cluster: the real operator publishes (``spec.publish``), the real
``kumo gateway --kubernetes`` resolves qualifiers and aliases and wakes ``<fn>-v<N>``; boto3 calls it."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.exceptions
import pytest
import signing
from botocore.config import Config
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import NS, OperatorProcess, wait_for

APPS = "/apis/apps/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"


def manifest(tag: str, aliases: str = "", max_instances: int = 2, idle: str = "60s") -> str:
    return f"""
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: ver
spec:
  runtime: python3.12
  handler: app.handler
  code:
    inline:
      app.py: |
        def handler(event, context):
            return {{"tag": "{tag}", "version": context.function_version}}
  publish: true
  scaling:
    minInstances: 0
    maxInstances: {max_instances}
    idleTimeout: {idle}
{aliases}
"""


ALIASES = """  aliases:
    live: {version: 1, routing: {"2": 1.0}}
    stable: {version: 1, description: last known good}
"""


def function(api: KubeApi) -> dict[str, Any]:
    return api.get(f"{NS}/functions/ver")


def published(api: KubeApi, count: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        versions = (function(api).get("status") or {}).get("versions") or []
        return versions if len(versions) == count else None

    return wait_for(check, what=f"{count} published versions")


def children(api: KubeApi, name: str) -> dict[str, dict[str, Any]]:
    return {
        "ConfigMap": api.get(f"{CORE}/configmaps/{name}"),
        "Deployment": api.get(f"{APPS}/deployments/{name}"),
        "Service": api.get(f"{CORE}/services/{name}"),
    }


def lambda_client(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=signing.TEST_KEY.access_key_id,
        aws_secret_access_key=signing.TEST_KEY.secret_access_key,
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )


def invoke(lam: Any, qualifier: str) -> tuple[str, dict[str, Any]]:
    answer = lam.invoke(FunctionName="ver", Qualifier=qualifier, Payload=b"{}")
    return answer["ExecutedVersion"], json.loads(answer["Payload"].read())


def test_publish_keeps_versions_immutable_and_gateway_routes_qualifiers_and_aliases(
    kube_api: KubeApi, operator: OperatorProcess, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start()
    gateway.start()
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=manifest("one")).returncode == 0
        [v1] = published(kube_api, 1)
        assert v1["version"] == "1" and v1["codeSha256"] and v1["lastModified"].endswith("+0000")
        first = children(kube_api, "ver-v1")
        assert first["ConfigMap"]["immutable"] is True
        assert first["Deployment"]["spec"]["replicas"] == 0  # scaled to zero until requested
        latest_v1 = function(kube_api)["status"]["version"]

        # New code: version 2, version 1's objects untouched; the old $LATEST children go.
        assert kube_api.kubectl("apply", "-f", "-", input=manifest("two", ALIASES)).returncode == 0
        versions = published(kube_api, 2)
        assert [v["version"] for v in versions] == ["1", "2"]
        assert versions[0] == v1
        second = children(kube_api, "ver-v2")
        assert second["ConfigMap"]["data"] != first["ConfigMap"]["data"]
        wait_for(
            lambda: kube_api.request("GET", f"{APPS}/deployments/ver-{latest_v1}").status_code == 404,
            what="old $LATEST Deployment removed",
        )
        after = children(kube_api, "ver-v1")
        for kind in ("ConfigMap", "Service"):
            assert after[kind]["metadata"]["resourceVersion"] == first[kind]["metadata"]["resourceVersion"], kind
        assert after["Deployment"]["spec"] == first["Deployment"]["spec"]
        assert ready(kube_api)

        # An operator restart renumbers nothing; a later reconcile (scaling only) publishes nothing.
        operator.stop()
        operator.start()
        assert kube_api.kubectl("apply", "-f", "-", input=manifest("two", ALIASES, 3)).returncode == 0
        generation = function(kube_api)["metadata"]["generation"]
        wait_for(
            lambda: function(kube_api)["status"].get("observedGeneration") == generation,
            what="the restarted operator reconciled",
        )
        assert function(kube_api)["status"]["versions"] == versions

        lam = lambda_client(gateway.url)

        def known() -> bool:
            try:
                return invoke(lam, "live")[0] == "2"
            except botocore.exceptions.ClientError:
                return False

        wait_for(known, timeout_s=60, what="the gateway knows version 2 and the alias")
        assert invoke(lam, "1") == ("1", {"tag": "one", "version": "1"})
        assert invoke(lam, "2") == ("2", {"tag": "two", "version": "2"})
        assert invoke(lam, "stable") == ("1", {"tag": "one", "version": "1"})
        assert invoke(lam, "live") == ("2", {"tag": "two", "version": "2"})  # routing weight 1.0 -> version 2
        assert invoke(lam, "$LATEST") == ("$LATEST", {"tag": "two", "version": "$LATEST"})
        assert pods.running("ver-v1") == 1 and pods.running("ver-v2") == 1
        for unknown in ("7", "nope"):
            with pytest.raises(lam.exceptions.ResourceNotFoundException):
                invoke(lam, unknown)

        # Management reads show the cluster's versions and aliases; writes point at the spec.
        listed = lam.list_versions_by_function(FunctionName="ver")["Versions"]
        assert [v["Version"] for v in listed] == ["$LATEST", "1", "2"]
        assert listed[1]["CodeSha256"] == v1["codeSha256"]
        alias = lam.get_alias(FunctionName="ver", Name="live")
        assert alias["FunctionVersion"] == "1" and alias["RoutingConfig"]["AdditionalVersionWeights"] == {"2": 1.0}
        assert sorted(a["Name"] for a in lam.list_aliases(FunctionName="ver")["Aliases"]) == ["live", "stable"]
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=r"spec\.publish"):
            lam.publish_version(FunctionName="ver")
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=r"spec\.aliases"):
            lam.delete_alias(FunctionName="ver", Name="stable")
        assert lam.get_alias(FunctionName="ver", Name="stable")["FunctionVersion"] == "1"
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=r"delete the Function resource"):
            lam.delete_function(FunctionName="ver", Qualifier="2")
        assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]][-1] == "2"


def ready(api: KubeApi) -> bool:
    conditions = function(api)["status"]["conditions"]
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_a_published_version_wakes_on_its_own_and_scales_back_to_zero(
    kube_api: KubeApi, operator: OperatorProcess, redis_url: str, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start("--redis-url", redis_url)
    gateway.start(f"--redis-url={redis_url}", env={"KUMO_REPORT_INTERVAL_S": "0.5"})
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=manifest("one", idle="2s")).returncode == 0
        published(kube_api, 1)
        latest = f"ver-{function(kube_api)['status']['version']}"
        lam = lambda_client(gateway.url)

        def answered() -> tuple[str, dict[str, Any]] | None:
            try:
                return invoke(lam, "1")
            except botocore.exceptions.ClientError:
                return None

        assert wait_for(answered, timeout_s=60, what="version 1 served") == ("1", {"tag": "one", "version": "1"})
        scale = f"{APPS}/deployments/ver-v1/scale"
        assert kube_api.get(scale)["spec"]["replicas"] == 1
        assert kube_api.get(f"{APPS}/deployments/{latest}/scale")["spec"]["replicas"] == 0  # only v1 woke
        wait_for(lambda: kube_api.get(scale)["spec"]["replicas"] == 0, timeout_s=30, what="ver-v1 scaled to zero")
        wait_for(lambda: pods.running("ver-v1") == 0, what="ver-v1's pod gone")
