"""The operator gives every Function its own access key (``<fn>-credentials``), as the chart's service
account (RBAC enforced by the emulator): created once, stable across reconciles and restarts, read by
every Deployment of the Function, deleted with the Function."""

from __future__ import annotations

from cluster import REPO, KubeApi
from operator_support import NS, OperatorProcess, wait_for

from kumo.access_keys import ACCESS_KEY_LABEL, from_secret

HELLO = REPO / "examples" / "hello" / "function.yaml"
APPS = "/apis/apps/v1/namespaces/default"
SECRET = "/api/v1/namespaces/default/secrets/hello-credentials"


def observed(api: KubeApi, generation: int) -> bool:
    fn = api.get(f"{NS}/functions/hello")
    return (fn.get("status") or {}).get("observedGeneration") == generation


def secret_refs(deployment: dict) -> dict[str, dict]:
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}


def test_function_gets_a_stable_owned_credentials_secret(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    assert kube_api.kubectl("apply", "-f", str(HELLO)).returncode == 0
    fn = wait_for(lambda: observed(kube_api, 1) and kube_api.get(f"{NS}/functions/hello"), what="hello reconciled")
    secret = kube_api.get(SECRET)
    assert secret["metadata"]["labels"][ACCESS_KEY_LABEL] == "true"
    (owner,) = secret["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Function", "hello", fn["metadata"]["uid"])
    key = from_secret(secret)
    assert key is not None and key.name == "function:hello"

    deployment = kube_api.get(f"{APPS}/deployments/hello-{fn['status']['version']}")
    assert secret_refs(deployment) == {
        "AWS_ACCESS_KEY_ID": {"name": "hello-credentials", "key": "AWS_ACCESS_KEY_ID"},
        "AWS_SECRET_ACCESS_KEY": {"name": "hello-credentials", "key": "AWS_SECRET_ACCESS_KEY"},
    }

    # a new generation that publishes version 1: same key, and the published Deployment reads it too
    kube_api.patch(f"{NS}/functions/hello", {"spec": {"publish": True, "scaling": {"maxInstances": 3}}})
    wait_for(lambda: observed(kube_api, 2), what="second generation reconciled")
    published = wait_for(lambda: kube_api.get(f"{APPS}/deployments/hello-v1"), what="published Deployment")
    assert secret_refs(published) == secret_refs(deployment)
    # an operator restart (resume handler) changes nothing either
    operator.stop()
    operator.start()
    wait_for(lambda: "Handler 'function_changed' succeeded" in operator.current_log(), what="resume handler")
    after = kube_api.get(SECRET)
    assert after["metadata"]["resourceVersion"] == secret["metadata"]["resourceVersion"]
    assert after["data"] == secret["data"]

    assert kube_api.request("DELETE", f"{NS}/functions/hello").status_code == 200
    wait_for(lambda: kube_api.request("GET", SECRET).status_code == 404, what="Secret garbage-collected")
