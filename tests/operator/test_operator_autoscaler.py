"""The autoscaler end to end: gateway loads in a real redis-server -> replicas via the scale subresource."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from cluster import REPO, KubeApi
from operator_support import NS, OperatorProcess, wait_for

from kumo.scaling.signals import Load, field_for, publish

APPS = "/apis/apps/v1/namespaces/default"


def publish_load(url: str, field: str, load: Load) -> None:
    async def go() -> None:
        client = aioredis.from_url(url)
        try:
            await publish(client, "gw-test", {field: load})
        finally:
            await client.aclose()

    asyncio.run(go())


def test_loads_scale_up_and_idle_scales_to_zero(kube_api: KubeApi, operator: OperatorProcess, redis_url: str) -> None:
    operator.env |= {"KUMO_STABLE_WINDOW_S": "1"}
    operator.start("--redis-url", redis_url)
    manifest = (
        (REPO / "examples" / "hello" / "function.yaml").read_text().replace("idleTimeout: 60s", "idleTimeout: 2s")
    )
    assert kube_api.kubectl("apply", "-f", "-", input=manifest).returncode == 0
    version = wait_for(lambda: kube_api.get(f"{NS}/functions/hello").get("status", {}).get("version"), what="version")
    scale = f"{APPS}/deployments/hello-{version}/scale"
    assert kube_api.get(scale)["spec"]["replicas"] == 0
    field = field_for("default", "hello", version)

    publish_load(redis_url, field, Load(inflight=2, peak=3, waiting=1, last_request=time.time()))
    wait_for(lambda: kube_api.get(scale)["spec"]["replicas"] == 4, what="scale up to peak+waiting")
    events = wait_for(
        lambda: [e for e in kube_api.list("/api/v1/namespaces/default/events") if e.get("reason") == "ScaledFromZero"],
        what="ScaledFromZero event",
    )
    assert "0 -> 4" in events[0]["message"]

    # more than maxInstances asked for: clamped to 10
    publish_load(redis_url, field, Load(inflight=5, peak=30, waiting=0, last_request=time.time()))
    wait_for(lambda: kube_api.get(scale)["spec"]["replicas"] == 10, what="clamped to maxInstances")

    # requests stop: after the 1 s window and the 2 s idle timeout, back to zero
    publish_load(redis_url, field, Load(inflight=0, peak=0, waiting=0, last_request=time.time()))
    wait_for(lambda: kube_api.get(scale)["spec"]["replicas"] == 0, timeout_s=20, what="scale to zero")
