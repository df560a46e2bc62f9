"""Cluster tables end to end: Table resources in the emulator, real `kumo partition` processes run with
the operator's StatefulSet arguments (on 127.0.0.1 ports), the gateway with ``KubernetesTables``, boto3."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import signing
import support
from botocore.config import Config
from botocore.exceptions import ClientError
from cluster import KubeApi
from gateway_server import ThreadedServer
from kubernetes import config as kube_config
from kubernetes.client import Configuration
from partition_pods import TABLES, Pods
from signing import TEST_KEY, make_authenticator

from kumo.catalog import Catalog
from kumo_gateway.app import create_app
from kumo_gateway.kubernetes.tables import KubernetesTables
from kumo_gateway.local.process_provider import LocalProvider

ORDERS = """apiVersion: kumo.dev/v1alpha1
kind: Table
metadata:
  name: orders
spec:
  partitionKey: {name: customer, type: S}
  sortKey: {name: order, type: "N"}
  partitions: 2
  ttlAttribute: expires
"""
CARTS = """apiVersion: kumo.dev/v1alpha1
kind: Table
metadata:
  name: carts
spec:
  partitionKey: {name: id, type: S}
"""


def wait_until(check: Callable[[], Any], what: str, timeout_s: float = 20.0) -> Any:
    """``support.wait_until`` where an exception means "not there yet"."""
    return support.wait_until(check, timeout=timeout_s, what=what, ignore=(Exception,))


class WithTables:
    """The function provider, also starting and stopping the table directory in the gateway's loop."""

    def __init__(self, provider: LocalProvider, tables: KubernetesTables) -> None:
        self.provider, self.tables = provider, tables

    def acquire(self, function: str, version: str) -> Any:
        return self.provider.acquire(function, version)

    async def start(self) -> None:
        await self.tables.start()
        await self.provider.start()

    async def stop(self) -> None:
        await self.provider.stop()
        await self.tables.stop()


@pytest.fixture
def pods(kube_api: KubeApi, tmp_path: Path) -> Iterator[Pods]:
    pods = Pods(kube_api, tmp_path / "pods")
    try:
        yield pods
    finally:
        pods.stop_all()


@pytest.fixture
def gateway(kube_api: KubeApi, pods: Pods, tmp_path: Path) -> Iterator[Any]:
    configuration = Configuration()
    kube_config.load_kube_config(
        config_file=str(kube_api.kubeconfig), client_configuration=configuration, persist_config=False
    )
    tables = KubernetesTables(
        "default", configuration=configuration, endpoint_template=pods.host, resync_interval_s=0.3
    )
    catalog = Catalog()
    provider = WithTables(LocalProvider(catalog, state_dir=tmp_path / "state"), tables)
    server = ThreadedServer(create_app(catalog, provider, tables=tables, auth=make_authenticator()))  # type: ignore[arg-type]
    server.start()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.base_url,
            region_name="us-east-1",
            aws_access_key_id=TEST_KEY.access_key_id,
            aws_secret_access_key=TEST_KEY.secret_access_key,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )
        yield client
    finally:
        server.stop()


def status(client: Any, name: str) -> str:
    return client.describe_table(TableName=name)["Table"]["TableStatus"]


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_items_through_the_gateway_reach_statefulset_partitions(kube_api: KubeApi, pods: Pods, gateway: Any) -> None:
    client = gateway
    assert kube_api.kubectl("apply", "-f", "-", input=ORDERS).returncode == 0
    wait_until(lambda: "orders" in client.list_tables()["TableNames"], "the watched Table")
    assert status(client, "orders") == "CREATING"
    assert error_of(lambda: client.get_item(TableName="orders", Key={"customer": {"S": "a"}, "order": {"N": "1"}}))[
        0
    ] == ("ResourceNotFoundException")

    pods.start("orders", 0)
    pods.start("orders", 1)
    wait_until(lambda: status(client, "orders") == "ACTIVE", "orders ACTIVE")
    for index in (0, 1):
        held = pods.table("orders", index)
        assert (held["PartitionIndex"], held["PartitionCount"]) == (index, 2)
        assert held["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    for c in range(12):
        for o in range(3):
            client.put_item(
                TableName="orders",
                Item={"customer": {"S": f"c{c}"}, "order": {"N": str(o)}, "total": {"N": str(c * 10 + o)}},
            )
    got = client.get_item(TableName="orders", Key={"customer": {"S": "c5"}, "order": {"N": "2"}})
    assert got["Item"]["total"] == {"N": "52"}
    queried = client.query(
        TableName="orders",
        KeyConditionExpression="customer = :c AND #o >= :o",
        ExpressionAttributeNames={"#o": "order"},
        ExpressionAttributeValues={":c": {"S": "c7"}, ":o": {"N": "1"}},
    )
    assert [i["order"]["N"] for i in queried["Items"]] == ["1", "2"]
    scanned = client.get_paginator("scan").paginate(TableName="orders", PaginationConfig={"PageSize": 7})
    keys = sorted((i["customer"]["S"], int(i["order"]["N"])) for page in scanned for i in page["Items"])
    assert keys == sorted((f"c{c}", o) for c in range(12) for o in range(3))
    counts = [pods.items("orders", 0), pods.items("orders", 1)]
    assert sum(counts) == 36 and min(counts) > 0  # both partitions own items
    assert client.describe_table(TableName="orders")["Table"]["ItemCount"] == 36

    # Table management goes through the Table manifest.
    code, message = error_of(
        lambda: client.create_table(
            TableName="sessions",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    )
    assert code == "ValidationException" and "apply a Table manifest" in message
    code, _ = error_of(
        lambda: client.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "customer", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    )
    assert code == "ResourceInUseException"
    code, message = error_of(lambda: client.delete_table(TableName="orders"))
    assert code == "ValidationException" and "kubectl delete table orders" in message
    code, message = error_of(
        lambda: client.update_time_to_live(
            TableName="orders", TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"}
        )
    )
    assert code == "ValidationException" and "spec.ttlAttribute" in message
    code, message = error_of(
        lambda: client.update_table(
            TableName="orders",
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )
    )
    assert code == "ValidationException" and "spec.billingMode" in message
    assert client.get_item(TableName="orders", Key={"customer": {"S": "c5"}, "order": {"N": "2"}})["Item"]

    # A manifest edit reaches the partitions; a restarted pod keeps its data and description.
    kube_api.patch(f"{TABLES}/orders", {"spec": {"ttlAttribute": "ttl"}})
    wait_until(
        lambda: client.describe_time_to_live(TableName="orders")["TimeToLiveDescription"].get("AttributeName") == "ttl",
        "the new TTL attribute",
    )
    wait_until(lambda: pods.table("orders", 1)["TimeToLiveDescription"]["AttributeName"] == "ttl", "partition TTL")
    before = pods.table("orders", 1)
    pods.stop("orders", 1)
    pods.start("orders", 1)
    assert pods.table("orders", 1) == before
    got = client.get_item(TableName="orders", Key={"customer": {"S": "c5"}, "order": {"N": "2"}})
    assert got["Item"]["total"] == {"N": "52"}


def test_tables_come_and_go_with_their_resources(
    kube_api: KubeApi, pods: Pods, gateway: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = gateway
    caplog.set_level(logging.INFO, logger="kumo.gateway.tables")

    def puts() -> int:
        return sum("table carts: partition 0 has its description" in r.getMessage() for r in caplog.records)

    assert kube_api.kubectl("apply", "-f", "-", input=CARTS).returncode == 0
    pods.start("carts", 0)
    wait_until(lambda: status(client, "carts") == "ACTIVE", "carts ACTIVE")
    client.put_item(TableName="carts", Item={"id": {"S": "x"}, "n": {"N": "1"}})
    time.sleep(1.0)  # several resyncs (every 0.3 s): the partition already holds the description
    assert puts() == 1

    # A pod that comes back with a fresh volume gets the description again (at the next resync).
    pods.stop("carts", 0)
    pods.start("carts", 0, data="fresh")
    wait_until(lambda: pods.table("carts", 0).get("TableName") == "carts", "the description on the new volume")
    assert puts() == 2
    assert "Item" not in client.get_item(TableName="carts", Key={"id": {"S": "x"}})
    bad = httpx.post(
        client.meta.endpoint_url,
        content=b'{"KeySchema": []}',
        headers={"X-Amz-Target": "DynamoDB_20120810.CreateTable", "Content-Type": "application/x-amz-json-1.0"},
        auth=signing.auth("dynamodb"),
    )
    assert bad.status_code == 400 and bad.json()["__type"].endswith("#ValidationException")

    assert kube_api.kubectl("delete", "table", "carts").returncode == 0
    wait_until(lambda: "carts" not in client.list_tables()["TableNames"], "carts gone")
    code, _ = error_of(lambda: client.put_item(TableName="carts", Item={"id": {"S": "y"}}))
    assert code == "ResourceNotFoundException"
