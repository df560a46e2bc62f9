"""Layers and Publish through the Lambda API in a cluster: boto3 against the real ``kumo gateway
--kubernetes`` (chart RBAC enforced), a real ``kumo codestore``, the real operator and pods that run the
real init container (``kumo package fetch``) and ``kumo runtime``: a published layer version is a ConfigMap
kubectl shows and an archive in the code store; a function created with ``Layers`` and ``Publish`` imports
from ``/opt`` and has version 1."""

from __future__ import annotations

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import botocore.exceptions
import pytest
import signing
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import NS, wait_for
from test_k8s_lambda_management import CREDENTIAL, FAST, ROLE, b64_sha, cluster, error_code, package, store

from kumo.packages.store_client import StoreClient, credential_headers

__all__ = ["cluster", "store"]  # the fixtures

USES_LAYER = """
import shared_helper

def handler(event, context):
    return {"helper": shared_helper.WHO, "version": context.function_version}
"""

LAYERED_MANIFEST = """
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: named-layers
spec:
  runtime: python3.12
  handler: app.handler
  layers: ["helpers:1"]
  code:
    inline:
      app.py: |
        def handler(event, context):
            return 1
"""


def layer_zip(who: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/shared_helper.py", f"WHO = {who!r}\n")
    return buffer.getvalue()


def racer(client: Any, index: int) -> int:
    """One publisher with its own client (made in the main thread: boto3's default session is not thread-safe)."""
    return client.publish_layer_version(LayerName="race", Content={"ZipFile": layer_zip(str(index))})["Version"]


def invoke(lam: Any, **qualifier: str) -> dict[str, Any]:
    response = lam.invoke(FunctionName="layered", Payload=b"{}", **qualifier)
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_layers_and_publish_through_the_lambda_api(
    kube_api: KubeApi, pods: PodFarm, gateway: GatewayProcess, store, cluster: Any
) -> None:
    lam = cluster
    with DeploymentController(kube_api.url, pods.endpoints_for):
        first = lam.publish_layer_version(
            LayerName="helpers",
            Content={"ZipFile": layer_zip("one")},
            Description="first",
            CompatibleRuntimes=["python3.12"],
        )
        second = lam.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip("two")})
        assert (first["Version"], second["Version"]) == (1, 2)
        assert first["Content"] == {"CodeSha256": b64_sha(layer_zip("one")), "CodeSize": len(layer_zip("one"))}
        arn1, arn2 = first["LayerVersionArn"], second["LayerVersionArn"]
        assert arn1.endswith(":layer:helpers:1") and first["CompatibleRuntimes"] == ["python3.12"]

        # Publishers racing (no lock in the gateway: the API server's 409 on a taken name decides).
        clients = [signing.client("lambda", gateway.url) for _ in range(4)]
        with ThreadPoolExecutor(4) as pool:
            raced = list(pool.map(racer, clients, range(4)))
        assert sorted(raced) == [1, 2, 3, 4]

        # kubectl shows the versions; the archives are in the code store.
        shown = kube_api.kubectl("get", "configmaps", "-n", "default", "-l", "kumo.dev/layer=helpers", "-o", "json")
        assert shown.returncode == 0, shown.stderr
        assert sorted(cm["data"]["version"] for cm in json.loads(shown.stdout)["items"]) == ["1", "2"]
        with StoreClient(store.url, credential_headers(CREDENTIAL)) as client:
            stored = json.loads(shown.stdout)["items"][0]["data"]
            assert client.head(stored["sha256"]) == int(stored["size"])

        layers = lam.list_layers()["Layers"]
        assert [(x["LayerName"], x["LatestMatchingVersion"]["Version"]) for x in layers] == [
            ("helpers", 2),
            ("race", 4),
        ]
        assert lam.get_layer_version(LayerName="helpers", VersionNumber=1)["Description"] == "first"
        assert lam.get_layer_version_by_arn(Arn=arn2)["Version"] == 2
        assert [v["Version"] for v in lam.list_layer_versions(LayerName="helpers")["LayerVersions"]] == [2, 1]

        # A layer that is not there, or not an ARN: refused as local mode refuses it, nothing created.
        code = package(USES_LAYER)
        create = {"Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler", "Code": {"ZipFile": code}}
        for layers_given in ([arn1.replace(":1", ":9")], ["helpers:1"]):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                lam.create_function(FunctionName="layered", Layers=layers_given, **create)
            assert error_code(refused) == "InvalidParameterValueException"
        assert kube_api.request("GET", f"{NS}/functions/layered").status_code == 404

        # Layers and Publish: the pod imports from the layer; version 1 is published and answered.
        created = lam.create_function(FunctionName="layered", Layers=[arn1], Publish=True, **create)
        assert created["Version"] == "1", created
        assert created["Layers"] == [{"Arn": arn1, "CodeSize": len(layer_zip("one"))}]
        fn = kube_api.get(f"{NS}/functions/layered")
        assert (
            fn["spec"]["code"]["package"]["layers"]
            == [{"sha256": json.loads(shown.stdout)["items"][0]["data"]["sha256"], "size": len(layer_zip("one"))}]
            or len(fn["spec"]["code"]["package"]["layers"]) == 1
        )
        lam.get_waiter("function_active_v2").wait(FunctionName="layered", WaiterConfig=FAST)
        assert invoke(lam) == {"helper": "one", "version": "$LATEST"}
        assert invoke(lam, Qualifier="1") == {"helper": "one", "version": "1"}
        versions = lam.list_versions_by_function(FunctionName="layered")["Versions"]
        assert [v["Version"] for v in versions] == ["$LATEST", "1"]
        assert versions[1]["CodeSha256"] == b64_sha(code)

        # Another layer version through UpdateFunctionConfiguration; GetFunction shows it.
        lam.update_function_configuration(FunctionName="layered", Layers=[arn2])
        lam.get_waiter("function_updated_v2").wait(FunctionName="layered", WaiterConfig=FAST)
        assert lam.get_function(FunctionName="layered")["Configuration"]["Layers"] == [
            {"Arn": arn2, "CodeSize": len(layer_zip("two"))}
        ]
        wait_for(lambda: invoke(lam)["helper"] == "two", what="$LATEST runs layer version 2")

        # UpdateFunctionCode with Publish answers the new version; version 1 keeps its code and layer.
        updated = lam.update_function_code(
            FunctionName="layered", ZipFile=package(USES_LAYER + "\n# v2\n"), Publish=True
        )
        assert updated["Version"] == "2", updated
        lam.get_waiter("function_updated_v2").wait(FunctionName="layered", WaiterConfig=FAST)
        assert invoke(lam, Qualifier="2") == {"helper": "two", "version": "2"}
        assert invoke(lam, Qualifier="1") == {"helper": "one", "version": "1"}
        listed = [v["Version"] for v in lam.list_versions_by_function(FunctionName="layered")["Versions"]]
        assert listed == ["$LATEST", "1", "2"]

        # DeleteLayerVersion: gone from the layer calls, its number never reused; users keep running.
        lam.delete_layer_version(LayerName="helpers", VersionNumber=2)
        with pytest.raises(botocore.exceptions.ClientError) as gone:
            lam.get_layer_version(LayerName="helpers", VersionNumber=2)
        assert error_code(gone) == "ResourceNotFoundException"
        third = lam.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip("three")})
        assert third["Version"] == 3
        assert [v["Version"] for v in lam.list_layer_versions(LayerName="helpers")["LayerVersions"]] == [3, 1]
        assert invoke(lam, Qualifier="2")["helper"] == "two"

        # A kubectl-applied Function naming layers: the operator does not resolve names, it says why.
        applied = kube_api.kubectl("apply", "-n", "default", "-f", "-", input=LAYERED_MANIFEST)
        assert applied.returncode == 0, applied.stderr

        def failed() -> dict[str, Any] | None:
            try:
                configuration = lam.get_function_configuration(FunctionName="named-layers")
            except botocore.exceptions.ClientError:
                return None
            return configuration if configuration["State"] == "Failed" else None

        refused_fn = wait_for(failed, what="named-layers Failed")
        assert refused_fn["StateReasonCode"] == "LayersNotResolved" and "kumo deploy" in refused_fn["StateReason"]
