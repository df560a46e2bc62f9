"""Api features through ``kumo gateway --kubernetes`` (Api and Function from watched resources): payload
format 1.0, stage variables with a canary, CORS; real operator, kubectl, gateway and runtime hosts."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import signing
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import OperatorProcess, wait_for

ORIGIN = "https://app.example.com"
MANIFESTS = f"""
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: echo
spec:
  runtime: python3.12
  handler: app.handler
  code:
    inline:
      app.py: |
        import json


        def handler(event, context):
            return {{"statusCode": 200, "headers": {{"content-type": "application/json"}}, "body": json.dumps(event)}}
  scaling:
    idleTimeout: 60s
---
apiVersion: kumo.dev/v1alpha1
kind: Api
metadata:
  name: shop
spec:
  payloadFormat: "1.0"
  routes:
    - {{method: GET, path: "/items/{{id}}", function: echo}}
  stages:
    - name: prod
      variables: {{greeting: hi}}
      canary: {{percent: 50, variables: {{greeting: yo}}}}
  cors:
    allowOrigins: ["{ORIGIN}"]
    allowMethods: [GET]
    maxAge: 300
"""


def test_payload_1_0_canary_and_cors_through_the_kubernetes_gateway(
    kube_api: KubeApi, operator: OperatorProcess, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start()
    gateway.start()
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=MANIFESTS).returncode == 0
        with httpx.Client(base_url=gateway.url, timeout=60, auth=signing.auth()) as client:
            first = wait_for(
                lambda: (
                    (r := client.get("/shop/prod/items/7?q=1&q=2", headers={"origin": ORIGIN})).status_code == 200 and r
                ),
                timeout_s=60,
                what="the Api served by the gateway",
            )
            event = first.json()
            assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/prod/items/7", "GET")
            assert event["pathParameters"] == {"id": "7"}
            assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
            assert event["queryStringParameters"] == {"q": "2"}
            assert first.headers["access-control-allow-origin"] == ORIGIN

            # The canary side and the stage variables agree on every response; both sides are seen.
            sides = {"true": 0, "false": 0}
            for _ in range(120):
                response = client.get("/shop/prod/items/1")
                assert response.status_code == 200
                canary = response.headers["x-kumo-canary"]
                sides[canary] += 1
                assert response.json()["stageVariables"] == {"greeting": "yo" if canary == "true" else "hi"}
            assert sides["true"] > 0 and sides["false"] > 0, sides

            started = pods.started
            preflight = client.options(
                "/shop/prod/items/1", headers={"origin": ORIGIN, "access-control-request-method": "GET"}
            )
            assert preflight.status_code == 204 and preflight.content == b""
            assert preflight.headers["access-control-allow-origin"] == ORIGIN
            assert preflight.headers["access-control-max-age"] == "300"
            other = client.options(
                "/shop/prod/items/1", headers={"origin": "https://evil.example", "access-control-request-method": "GET"}
            )
            assert other.status_code == 204 and "access-control-allow-origin" not in other.headers
            assert pods.started == started  # preflights invoke nothing

            missing = client.get("/shop/prod/nothing")
            assert missing.status_code == 404 and json.loads(missing.content) == {"message": "Not Found"}

            # `kumo api promote --kubernetes` patches the Api resource; the gateway's watch applies it.
            promote = [sys.executable, "-m", "kumo_cli", "api", "promote", "shop"]
            refused = subprocess.run(
                [*promote, "staging", "--kubernetes"], env=kube_api.env, capture_output=True, text=True, timeout=60
            )
            assert refused.returncode == 1 and "has no stage 'staging'" in refused.stderr, refused
            done = subprocess.run(
                [*promote, "prod", "--kubernetes", "--namespace", "default"],
                env=kube_api.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "promoted the canary of shop/prod: variables greeting=yo; canary traffic 0%"
            stage = kube_api.get("/apis/kumo.dev/v1alpha1/namespaces/default/apis/shop")["spec"]["stages"][0]
            assert stage["variables"] == {"greeting": "yo"} and stage["canary"]["percent"] == 0
            wait_for(
                lambda: all(
                    client.get("/shop/prod/items/1").json()["stageVariables"] == {"greeting": "yo"} for _ in range(20)
                ),
                timeout_s=30,
                what="the promoted stage served",
            )
            after = [client.get("/shop/prod/items/1") for _ in range(50)]
            assert {r.headers["x-kumo-canary"] for r in after} == {"false"}
            assert {r.json()["stageVariables"]["greeting"] for r in after} == {"yo"}
