"""API keys from labelled Secrets through ``kumo gateway --kubernetes``: real operator, kubectl,
redis-server, gateway (as the chart's service account, chart RBAC enforced) and runtime hosts."""

from __future__ import annotations

import base64
import json

import httpx
import redis
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import OperatorProcess, wait_for

KEY = "k8sKey0123456789abcdefABCDEF0123456789xy"
MANIFESTS = """
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: pets
spec:
  runtime: python3.12
  handler: app.handler
  code:
    inline:
      app.py: |
        def handler(event, context):
            return {"statusCode": 200, "body": "pets"}
  scaling:
    idleTimeout: 60s
---
apiVersion: kumo.dev/v1alpha1
kind: Api
metadata:
  name: pets
spec:
  routes:
    - {method: GET, path: /pets, function: pets, apiKeyRequired: true}
  stages:
    - {name: prod}
  usagePlans:
    - {name: basic, stages: [prod], quota: {limit: 1000, period: MONTH}}
"""
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "alice-key",
        "namespace": "default",
        "labels": {"kumo.dev/api-key": "true", "kumo.dev/api": "pets", "kumo.dev/usage-plan": "basic"},
    },
    "data": {"value": base64.b64encode(KEY.encode()).decode()},
}


def test_a_labelled_secret_is_an_api_key_until_it_is_deleted(
    kube_api: KubeApi, operator: OperatorProcess, redis_url: str, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start("--redis-url", redis_url)
    gateway.start(f"--redis-url={redis_url}")
    with DeploymentController(kube_api.url, pods.endpoints_for), httpx.Client(base_url=gateway.url, timeout=60) as http:
        assert kube_api.kubectl("apply", "-f", "-", input=MANIFESTS).returncode == 0
        wait_for(
            lambda: http.get("/pets/prod/pets").status_code == 403,
            timeout_s=60,
            what="the Api in the gateway's catalog",
        )
        assert http.get("/pets/prod/pets", headers={"x-api-key": KEY}).json() == {"message": "Forbidden"}
        applied = kube_api.kubectl("apply", "-f", "-", input=json.dumps(SECRET))
        assert applied.returncode == 0, applied.stderr
        served = wait_for(
            lambda: (r := http.get("/pets/prod/pets", headers={"x-api-key": KEY})).status_code == 200 and r,
            timeout_s=60,
            what="the Secret's key accepted",
        )
        assert served.text == "pets"
        store = redis.Redis.from_url(redis_url)
        try:
            dump = b" ".join(store.keys("*"))
            for name in store.keys("kumo:apikey*"):
                dump += b" " + b" ".join(v for pair in store.hgetall(name).items() for v in pair)
            assert KEY.encode() not in dump  # only the hash is stored
        finally:
            store.close()
        assert kube_api.kubectl("delete", "secret", "alice-key").returncode == 0
        wait_for(
            lambda: http.get("/pets/prod/pets", headers={"x-api-key": KEY}).status_code == 403,
            timeout_s=30,
            what="the deleted Secret's key refused",
        )
