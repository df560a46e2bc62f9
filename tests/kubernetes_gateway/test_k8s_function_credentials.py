"""Functions' own credentials in a cluster, end to end: the operator writes ``<fn>-credentials``, the
gateway (as its own service account) accepts signatures made with it, and a function's pod -- whose
environment takes the key from the Secret, as the kubelet resolves ``secretKeyRef`` -- calls the Lambda
API through the gateway with plain boto3."""

from __future__ import annotations

import json

import pytest
import signing
from botocore.exceptions import ClientError
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import NS, OperatorProcess, wait_for

from kumo.access_keys import AccessKey, from_secret

CALLER = """
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: caller
spec:
  runtime: python3.12
  handler: app.handler
  code:
    inline:
      app.py: |
        import os

        import boto3


        def handler(event, context):
            lam = boto3.client("lambda")  # endpoint, region and key from the pod's environment only
            names = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
            return {"names": names, "keyId": os.environ["AWS_ACCESS_KEY_ID"]}
  timeout: 20s
  scaling: {minInstances: 0, maxInstances: 1, idleTimeout: 60s}
"""
SECRET = "/api/v1/namespaces/default/secrets/caller-credentials"


def function_key(api: KubeApi) -> AccessKey:
    return wait_for(lambda: from_secret(api.get(SECRET)), what="caller-credentials Secret")


def test_function_key_signs_requests_and_reaches_the_gateway_from_the_pod(
    kube_api: KubeApi, operator: OperatorProcess, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.env["KUMO_GATEWAY_INTERNAL_URL"] = gateway.url  # the pods' AWS_ENDPOINT_URL*
    operator.start()
    gateway.start()
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=CALLER).returncode == 0
        key = function_key(kube_api)
        assert key.name == "function:caller"
        lam = signing.client("lambda", gateway.url, key)
        # the gateway accepts the operator's key once its Secret watch has it, and the Function once it is
        # Ready (before that it is listed as Pending, and an invoke answers 409 as Lambda's does)
        found = wait_for(
            lambda: (f := lam.get_function(FunctionName="caller"))["Configuration"].get("State") == "Active" and f,
            timeout_s=30,
            what="key and an Active Function",
        )
        assert found["Configuration"]["FunctionName"] == "caller"

        answer = lam.invoke(FunctionName="caller", Payload=b"{}")
        result = json.loads(answer["Payload"].read())
        assert "FunctionError" not in answer, result
        assert result == {"names": ["caller"], "keyId": key.access_key_id}

        # deleting the Function deletes its Secret, and the gateway forgets the key at once
        assert kube_api.request("DELETE", f"{NS}/functions/caller").status_code == 200
        wait_for(lambda: kube_api.request("GET", SECRET).status_code == 404, what="Secret garbage-collected")

        def refused() -> str | None:
            try:
                lam.list_functions()
            except ClientError as exc:
                return exc.response["Error"]["Code"]
            return None

        assert wait_for(refused, what="key refused") == "UnrecognizedClientException"
        with pytest.raises(ClientError):
            lam.list_functions()
