"""A cluster gateway shows a Function's ``State`` from the operator's ``Ready`` condition even without a
code store (no management writes): ``Pending`` (GetFunction, ListFunctions, Invoke's 409) until the
operator reports it Ready, then ``Active``. Before, such a gateway showed ``Active`` for a Function it
still refused to invoke."""

from __future__ import annotations

import pytest
import signing
from botocore.exceptions import ClientError
from cluster import KubeApi
from k8s_gateway_support import GatewayProcess
from operator_support import NS, wait_for

PENDING = """
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: waiting
spec:
  runtime: python3.12
  handler: app.handler
  code:
    inline:
      app.py: |
        def handler(event, context):
            return event
"""


def test_a_function_the_operator_has_not_made_ready_is_pending_everywhere(
    kube_api: KubeApi, gateway: GatewayProcess
) -> None:
    gateway.start()  # no operator: the Function never gets a Ready condition
    assert kube_api.kubectl("apply", "-f", "-", input=PENDING).returncode == 0
    lam = signing.client("lambda", gateway.url)
    found = wait_for(
        lambda: next((f for f in lam.list_functions()["Functions"] if f["FunctionName"] == "waiting"), None),
        what="the Function listed",
    )
    assert found["State"] == "Pending" and found["StateReasonCode"] == "Creating"
    configuration = lam.get_function(FunctionName="waiting")["Configuration"]
    assert configuration["State"] == "Pending" and configuration["LastUpdateStatus"] == "InProgress"
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName="waiting", Payload=b"{}")
    assert refused.value.response["Error"]["Code"] == "ResourceConflictException"
    assert "following state: Pending" in refused.value.response["Error"]["Message"]
    # the operator's verdict (here written by hand) becomes the State at once
    fn = kube_api.get(f"{NS}/functions/waiting")
    failed = {
        "observedGeneration": fn["metadata"]["generation"],
        "conditions": [{"type": "Ready", "status": "False", "reason": "InvalidSpec", "message": "bad handler"}],
    }
    kube_api.patch(f"{NS}/functions/waiting/status", {"status": failed})
    configuration = wait_for(
        lambda: (c := lam.get_function(FunctionName="waiting")["Configuration"])["State"] == "Failed" and c,
        what="State Failed",
    )
    assert configuration["StateReasonCode"] == "InvalidSpec" and configuration["StateReason"] == "bad handler"
