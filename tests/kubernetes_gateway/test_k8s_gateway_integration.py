"""``kumo gateway --kubernetes`` end to end: real operator, kubectl, redis-server, gateway and runtime hosts."""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import time

import boto3
import httpx
import redis
import signing
from botocore.config import Config
from cluster import REPO, KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import NS, OperatorProcess, wait_for

APPS = "/apis/apps/v1/namespaces/default"
INVOKE = "/2015-03-31/functions/{}/invocations"

SLOW = """
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata:
  name: slow
spec:
  runtime: python3.12
  handler: app.handler
  code:
    inline:
      app.py: |
        import os, time


        def handler(event, context):
            start = time.time()
            time.sleep(0.3)
            return {"pid": os.getpid(), "start": start, "end": time.time()}
  timeout: 5s
  scaling:
    minInstances: 0
    maxInstances: 1
    idleTimeout: 60s
"""


def hello_manifest(idle: str = "2s") -> str:
    text = (
        (REPO / "examples" / "hello" / "function.yaml").read_text().replace("idleTimeout: 60s", f"idleTimeout: {idle}")
    )
    return text + "\n---\n" + (REPO / "examples" / "hello" / "api.yaml").read_text()


def ready_version(api: KubeApi, name: str) -> str:
    def check() -> str | None:
        fn = api.get(f"{NS}/functions/{name}")
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in fn.get("status", {}).get("conditions", []))
        return fn["status"].get("version") if ready else None

    return wait_for(check, what=f"{name} Ready with a version")


def replicas(api: KubeApi, deployment: str) -> int:
    return api.get(f"{APPS}/deployments/{deployment}/scale")["spec"]["replicas"]


def invoke_when_known(client: httpx.Client, name: str, payload: dict) -> httpx.Response:
    """The first request once the gateway's watch has the Function Ready (404, then 409 Pending, until then)."""
    return wait_for(
        lambda: (r := client.post(INVOKE.format(name), json=payload)).status_code not in (404, 409) and r,
        timeout_s=30,
        what=f"{name} served by the gateway",
    )


def test_wakes_from_zero_forwards_reports_and_scales_back_to_zero(
    kube_api: KubeApi, operator: OperatorProcess, redis_url: str, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start("--redis-url", redis_url)
    gateway.start(f"--redis-url={redis_url}", env={"KUMO_REPORT_INTERVAL_S": "0.5"})
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=hello_manifest()).returncode == 0
        version = ready_version(kube_api, "hello")
        deployment = f"hello-{version}"
        assert replicas(kube_api, deployment) == 0
        with httpx.Client(base_url=gateway.url, timeout=60, auth=signing.auth()) as client:
            # Plain HTTP Invoke: wakes the Deployment through /scale, answered by the new runtime host.
            response = invoke_when_known(client, "hello", {"name": "kumo"})
            assert response.status_code == 200, (response.text, gateway.log())
            assert response.json() == {"message": "Hello, kumo!"}
            assert response.headers["X-Amz-Executed-Version"] == "$LATEST"
            assert replicas(kube_api, deployment) == 1
            assert pods.running(deployment) == 1

            # The Api route and boto3 reach the same (warm) endpoint.
            routed = client.get("/hello/dev/hello", params={"name": "kumo"})
            assert routed.status_code == 200 and routed.json() == {"message": "Hello, kumo!"}
            lam = boto3.client(
                "lambda",
                endpoint_url=gateway.url,
                region_name="us-east-1",
                aws_access_key_id=signing.TEST_KEY.access_key_id,
                aws_secret_access_key=signing.TEST_KEY.secret_access_key,
                config=Config(retries={"max_attempts": 1}),
            )
            answer = lam.invoke(FunctionName="hello", Payload=json.dumps({"name": "boto"}), LogType="Tail")
            assert json.loads(answer["Payload"].read()) == {"message": "Hello, boto!"}
            assert "FunctionError" not in answer and answer["LogResult"]
            assert pods.started == 1  # no second cold start

            # The gateway's load reports reach Redis under the contract's field.
            store = redis.Redis.from_url(redis_url)
            try:
                field = f"default/hello/{version}".encode()
                keys = "kumo:gw:*:load"
                loads = wait_for(
                    lambda: [v for k in store.scan_iter(keys) for f, v in store.hgetall(k).items() if f == field],
                    what="load report",
                )
                assert json.loads(loads[0])["last_request"] > time.time() - 60
            finally:
                store.close()

            # Idle past idleTimeout (2 s): the operator's autoscaler scales back to zero, the pod goes.
            wait_for(lambda: replicas(kube_api, deployment) == 0, timeout_s=30, what="scale to zero")
            wait_for(lambda: pods.running(deployment) == 0, what="pod stopped")

            # ... and the next request wakes it again.
            again = client.post(INVOKE.format("hello"), json={"name": "again"})
            assert again.status_code == 200 and again.json() == {"message": "Hello, again!"}


def test_concurrent_requests_queue_one_in_flight_per_endpoint(
    kube_api: KubeApi, operator: OperatorProcess, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start()
    gateway.start()
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=SLOW).returncode == 0
        version = ready_version(kube_api, "slow")
        with httpx.Client(base_url=gateway.url, timeout=60, auth=signing.auth()) as client:
            assert invoke_when_known(client, "slow", {}).status_code == 200
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                results = list(pool.map(lambda _: client.post(INVOKE.format("slow"), json={}), range(6)))
        assert [r.status_code for r in results] == [200] * 6, [r.text for r in results]
        runs = sorted((r.json()["start"], r.json()["end"]) for r in results)
        assert len({r.json()["pid"] for r in results}) == 1  # maxInstances 1: one endpoint
        for (_, end), (start, _) in itertools.pairwise(runs):
            assert start >= end, "two invocations overlapped on one endpoint"
        assert replicas(kube_api, f"slow-{version}") == 1  # clamped to maxInstances


def test_no_ready_endpoint_answers_503_within_the_bound(
    kube_api: KubeApi, operator: OperatorProcess, pods: PodFarm, gateway: GatewayProcess
) -> None:
    operator.start()
    gateway.start(env={"KUMO_WAKE_TIMEOUT_S": "1.5"})
    pods.start_pods = False  # the Deployment scales, but no pod ever becomes ready
    with DeploymentController(kube_api.url, pods.endpoints_for):
        assert kube_api.kubectl("apply", "-f", "-", input=hello_manifest("60s")).returncode == 0
        version = ready_version(kube_api, "hello")
        with httpx.Client(base_url=gateway.url, timeout=60, auth=signing.auth()) as client:
            response = invoke_when_known(client, "hello", {})
            assert response.status_code == 503, response.text
            assert response.headers["x-amzn-ErrorType"] == "ServiceException"
            assert "no instance became ready within 1.5s" in response.json()["message"]
            assert replicas(kube_api, f"hello-{version}") == 1  # it did ask
            routed = client.get("/hello/dev/hello")
            assert routed.status_code == 503 and routed.json() == {"message": "Service Unavailable"}
            missing = client.post(INVOKE.format("nope"), json={})
            assert missing.status_code == 404
            assert missing.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
