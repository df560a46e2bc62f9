"""Stream-triggered functions in a cluster: ``kumo gateway --kubernetes`` with Redis runs the table-stream
event source. Real operator (chart RBAC enforced), emulator, redis-server, `kumo partition` processes
with the operator's StatefulSet arguments, gateway processes and a `kumo runtime` pod (PodFarm)."""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import signing
from botocore.config import Config
from cluster import KubeApi
from controllers import DeploymentController
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import OperatorProcess, wait_for
from partition_pods import Pods

PARTITIONS = 2
TABLE = f"""apiVersion: kumo.dev/v1alpha1
kind: Table
metadata:
  name: orders
spec:
  partitionKey: {{name: pk, type: S}}
  partitions: {PARTITIONS}
  stream: {{viewType: NEW_IMAGE}}
"""
RECORDER = """
import json, os

def handler(event, context):
    with open(os.environ["TRACE"], "a") as out:
        for record in event["Records"]:
            out.write(json.dumps(record) + "\\n")
    return {}
"""


def function_manifest(trace: Path) -> str:
    return json.dumps(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "recorder"},
            "spec": {
                "runtime": "python3.12",
                "handler": "app.handler",
                "code": {"inline": {"app.py": RECORDER}},
                "environment": {"TRACE": str(trace)},
                "timeout": "10s",
                "scaling": {"minInstances": 0, "maxInstances": 1, "idleTimeout": "60s"},
                "events": [{"stream": {"table": "orders", "batchSize": 10, "startingPosition": "TRIM_HORIZON"}}],
            },
        }
    )


def bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def partition_ports(pods: Pods) -> str:
    """Ports ``2<index><suffix>`` for the partitions, free now, and the endpoint template naming them (the
    gateway's ``KUMO_PARTITION_ENDPOINT_TEMPLATE``: the pods' DNS names do not resolve here)."""
    rng = random.Random()
    for _ in range(200):
        suffix = rng.randrange(100, 1000)
        ports = [int(f"2{index}{suffix}") for index in range(PARTITIONS)]
        if all(bindable(port) for port in ports):
            for index, port in enumerate(ports):
                pods.ports[("orders", index)] = port
            return f"127.0.0.1:2{{index}}{suffix}"
    raise AssertionError("no free partition ports")


@pytest.fixture
def partitions(kube_api: KubeApi, tmp_path: Path) -> Iterator[Pods]:
    pods = Pods(kube_api, tmp_path / "partitions")
    try:
        yield pods
    finally:
        pods.stop_all()


def dynamodb(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=signing.TEST_KEY.access_key_id,
        aws_secret_access_key=signing.TEST_KEY.secret_access_key,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}),
    )


def traced(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def start_gateway(gateway: GatewayProcess, redis_url: str, template: str) -> Any:
    """Start ``gateway``; its DynamoDB client once it serves ``orders``."""
    gateway.start(f"--redis-url={redis_url}", env={"KUMO_PARTITION_ENDPOINT_TEMPLATE": template})
    client = dynamodb(gateway.url)
    wait_for(
        lambda: client.describe_table(TableName="orders")["Table"]["TableStatus"] == "ACTIVE",
        timeout_s=60,
        what="orders ACTIVE",
    )
    return client


def start_cluster(
    kube_api: KubeApi, operator: OperatorProcess, redis_url: str, partitions: Pods, gateway: GatewayProcess
) -> tuple[Any, str]:
    """The operator, the table and its partitions, ``gateway``: its DynamoDB client once ``orders`` is
    ACTIVE, and the partition endpoint template (for another gateway)."""
    operator.start("--redis-url", redis_url)
    template = partition_ports(partitions)
    assert kube_api.kubectl("apply", "-f", "-", input=TABLE).returncode == 0
    for index in range(PARTITIONS):
        partitions.start("orders", index)
    return start_gateway(gateway, redis_url, template), template


def write_versions(client: Any, keys: int, versions: int) -> None:
    for version in range(versions):
        for key in range(keys):
            client.put_item(TableName="orders", Item={"pk": {"S": f"k{key}"}, "v": {"N": str(version)}})


def assert_in_order_once(records: list[dict[str, Any]], keys: int, versions: int) -> None:
    assert history(records) == {f"k{key}": [str(v) for v in range(versions)] for key in range(keys)}
    assert len({r["eventID"] for r in records}) == len(records)


def history(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each key's ``v`` values in the order the function got them."""
    by_key: dict[str, list[str]] = {}
    for record in records:
        by_key.setdefault(record["dynamodb"]["Keys"]["pk"]["S"], []).append(record["dynamodb"]["NewImage"]["v"]["N"])
    return by_key


def leases(redis_url: str) -> list[str]:
    """The holders of the recorder's shard leases."""
    store = redis.Redis.from_url(redis_url)
    try:
        held = [store.get(key) for key in store.scan_iter("kumo:stream-source:recorder:*:lease")]
    finally:
        store.close()
    return [h.decode() for h in held if h is not None]


def test_writes_reach_the_stream_function_in_order(
    kube_api: KubeApi,
    operator: OperatorProcess,
    redis_url: str,
    pods: PodFarm,
    partitions: Pods,
    gateway: GatewayProcess,
    tmp_path: Path,
) -> None:
    trace = tmp_path / "trace.jsonl"
    with DeploymentController(kube_api.url, pods.endpoints_for):
        client, _ = start_cluster(kube_api, operator, redis_url, partitions, gateway)
        assert kube_api.kubectl("apply", "-f", "-", input=function_manifest(trace)).returncode == 0
        write_versions(client, keys=8, versions=3)
        client.delete_item(TableName="orders", Key={"pk": {"S": "k0"}})
        records = wait_for(lambda: (r := traced(trace)) and len(r) >= 25 and r, timeout_s=60, what="25 records")
        assert len(records) == 25, (len(records), gateway.log())
        removed = [r for r in records if r["eventName"] == "REMOVE"]
        assert [r["dynamodb"]["Keys"] for r in removed] == [{"pk": {"S": "k0"}}]
        assert_in_order_once([r for r in records if r["eventName"] != "REMOVE"], keys=8, versions=3)
        k0 = [r["eventName"] for r in records if r["dynamodb"]["Keys"]["pk"]["S"] == "k0"]
        assert k0 == ["INSERT", "MODIFY", "MODIFY", "REMOVE"]
        arn = client.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
        assert {r["eventSourceARN"] for r in records} == {arn}
        assert pods.started == 1


def test_two_gateways_share_the_shards_through_redis(
    kube_api: KubeApi,
    operator: OperatorProcess,
    redis_url: str,
    pods: PodFarm,
    partitions: Pods,
    gateway: GatewayProcess,
    tmp_path: Path,
) -> None:
    trace = tmp_path / "trace.jsonl"
    (tmp_path / "second").mkdir()
    second = GatewayProcess(kube_api, tmp_path / "second", user=gateway.user)
    try:
        with DeploymentController(kube_api.url, pods.endpoints_for):
            client, template = start_cluster(kube_api, operator, redis_url, partitions, gateway)
            assert kube_api.kubectl("apply", "-f", "-", input=function_manifest(trace)).returncode == 0
            write_versions(client, keys=10, versions=2)
            wait_for(lambda: len(traced(trace)) >= 20, timeout_s=60, what="20 records")
            assert gateway.proc is not None
            first = f"-{gateway.proc.pid}-"
            assert [first in holder for holder in leases(redis_url)] == [True] * PARTITIONS

            # A second replica on the same Redis: its pollers wait for the leases, no shard is polled twice.
            later = start_gateway(second, redis_url, template)
            write_versions(later, keys=10, versions=4)  # versions 0, 1 again, then 2, 3
            records = wait_for(lambda: (r := traced(trace)) and len(r) >= 60 and r, timeout_s=60, what="60 records")
            assert len(records) == 60, (len(records), gateway.log(), second.log())
            assert history(records) == {f"k{key}": ["0", "1", "0", "1", "2", "3"] for key in range(10)}
            assert len({r["eventID"] for r in records}) == 60

            # The first replica stops (a rollout): it gives its leases up on the way out (they are not left
            # to expire), and the second takes every shard over from the checkpoints.
            gateway.stop()
            assert not [holder for holder in leases(redis_url) if first in holder]
            write_versions(later, keys=10, versions=6)  # versions 0-3 again, then 4, 5
            records = wait_for(lambda: (r := traced(trace)) and len(r) >= 120 and r, timeout_s=60, what="120 records")
            assert len(records) == 120, (len(records), second.log())
            expected = ["0", "1", "0", "1", "2", "3", "0", "1", "2", "3", "4", "5"]
            assert history(records) == {f"k{key}": expected for key in range(10)}
            assert len({r["eventID"] for r in records}) == 120
            assert second.proc is not None
            holders = leases(redis_url)
            assert [f"-{second.proc.pid}-" in h for h in holders] == [True] * PARTITIONS, holders
    finally:
        second.stop()
