"""Pure parts of cluster tables: Table → description, endpoints, merging with stored state, refusals."""

from __future__ import annotations

import pytest

from kumo_cli.main import pod_ordinal
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_gateway.kubernetes import table_descriptions as cluster_tables
from kumo_gateway.kubernetes.table_descriptions import InvalidTable
from kumo_tablestore.partitioning import SlotMap


def table(name: str = "orders", **spec: object) -> dict:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Table",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": "0b9d-uid",
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "resourceVersion": "7",
            "managedFields": [],
        },
        "spec": {"partitionKey": {"name": "pk", "type": "S"}, "sortKey": {"name": "sk", "type": "N"}} | spec,
        "status": {"readyPartitions": 0},
    }


def test_description_from_a_table() -> None:
    d = cluster_tables.table_description(table(partitions=3, ttlAttribute="expires"))
    assert d["TableName"] == "orders" and d["TableStatus"] == "ACTIVE"
    assert d["TableId"] == "0b9d-uid" and d["CreationDateTime"] == 1714557600.0
    assert d["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert d["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ]
    assert d["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert d["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    assert d["PartitionCount"] == 3 and SlotMap.from_json(d["SlotMap"]) == SlotMap.even(3)
    # Deterministic: every gateway replica computes the same description.
    assert cluster_tables.table_description(table(partitions=3, ttlAttribute="expires")) == d
    route = TableRoute.from_description(d, cluster_tables.partition_endpoints("orders", "shop", 3))
    assert (route.partition_key, route.sort_key, route.sort_type) == ("pk", "sk", "N")


def test_provisioned_table() -> None:
    d = cluster_tables.table_description(
        table(billingMode="PROVISIONED", provisionedThroughput={"readCapacityUnits": 5, "writeCapacityUnits": 2})
    )
    assert d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert d["ProvisionedThroughput"]["WriteCapacityUnits"] == 2


def test_invalid_table_is_refused_with_a_message() -> None:
    with pytest.raises(InvalidTable, match=r"must differ from partitionKey\.name"):
        cluster_tables.table_description(table(sortKey={"name": "pk", "type": "S"}))
    with pytest.raises(InvalidTable, match="partitionKey"):
        cluster_tables.table_description({"metadata": {"name": "orders"}, "spec": {}})


def test_endpoints_are_the_statefulset_pods_dns_names() -> None:
    assert cluster_tables.partition_endpoints("orders", "shop", 2) == (
        "http://table-orders-0.table-orders.shop.svc.cluster.local:8080",
        "http://table-orders-1.table-orders.shop.svc.cluster.local:8080",
    )
    assert cluster_tables.partition_endpoints("orders", "shop", 2, "{table}-{index}.{namespace}:80") == (
        "http://orders-0.shop:80",
        "http://orders-1.shop:80",
    )
    ports = [4001, 4002]
    assert cluster_tables.partition_endpoints("orders", "shop", 2, lambda t, ns, i: f"127.0.0.1:{ports[i]}") == (
        "http://127.0.0.1:4001",
        "http://127.0.0.1:4002",
    )
    long = "t" * 80
    (endpoint,) = cluster_tables.partition_endpoints(long, "shop", 1)
    assert len(endpoint.split("//")[1].split(".")[0]) <= 63  # a DNS label


def test_merge_keeps_the_stored_identity_and_applies_mutable_settings() -> None:
    stored = cluster_tables.table_description(table(partitions=2)) | {"TableId": "old", "PartitionIndex": 1}
    wanted = cluster_tables.table_description(table(partitions=2, ttlAttribute="exp"))
    assert cluster_tables.merge_stored(wanted, None) == (wanted, [])
    merged, warnings = cluster_tables.merge_stored(wanted, stored)
    assert warnings == []
    assert merged["TableId"] == "old" and "PartitionIndex" not in merged
    assert merged["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}


def test_merge_never_repartitions_or_changes_keys() -> None:
    stored = cluster_tables.table_description(table(partitions=2))
    merged, warnings = cluster_tables.merge_stored(cluster_tables.table_description(table(partitions=4)), stored)
    assert merged["PartitionCount"] == 2 and merged["SlotMap"] == stored["SlotMap"]
    assert "repartitioning is not supported" in warnings[0]
    other_keys = cluster_tables.table_description(table(sortKey=None))
    merged, warnings = cluster_tables.merge_stored(other_keys, stored)
    assert merged["KeySchema"] == stored["KeySchema"] and "keys differ" in warnings[0]


def test_merge_adds_and_removes_manifest_gsis() -> None:
    stored = cluster_tables.table_description(table())
    gsi = {"name": "by-email", "partitionKey": {"name": "email", "type": "S"}}
    wanted = cluster_tables.table_description(table(globalSecondaryIndexes=[gsi]))
    merged, warnings = cluster_tables.merge_stored(wanted, stored)
    assert warnings == [] and merged["TableId"] == stored["TableId"]
    assert [(g["IndexName"], g["IndexStatus"]) for g in merged["GlobalSecondaryIndexes"]] == [("by-email", "CREATING")]
    assert {"AttributeName": "email", "AttributeType": "S"} in merged["AttributeDefinitions"]
    removed, warnings = cluster_tables.merge_stored(cluster_tables.table_description(table()), merged)
    assert warnings == [] and "GlobalSecondaryIndexes" not in removed
    lsi = {"name": "by-status", "sortKey": {"name": "status", "type": "S"}}
    _, warnings = cluster_tables.merge_stored(
        cluster_tables.table_description(table(localSecondaryIndexes=[lsi])), stored
    )
    assert "spec.localSecondaryIndexes" in warnings[0]


def test_refusals_point_at_the_table_manifest() -> None:
    missing = cluster_tables.create_refused("carts", exists=False)
    assert missing.type_name == "ValidationException" and "apply a Table manifest" in missing.message
    assert cluster_tables.create_refused("orders", exists=True).type_name == "ResourceInUseException"
    assert "kubectl delete table orders" in cluster_tables.delete_refused("orders").message
    current = cluster_tables.table_description(table())
    ttl = cluster_tables.update_refused("orders", current, current | {"TimeToLiveDescription": {"x": 1}})
    assert ttl.message.startswith("UpdateTimeToLive") and "spec.ttlAttribute" in ttl.message
    billing = cluster_tables.update_refused("orders", current, current | {"BillingModeSummary": {}})
    assert billing.message.startswith("UpdateTable") and "spec.billingMode" in billing.message
    gsi = cluster_tables.update_refused("orders", current, current | {"GlobalSecondaryIndexes": []})
    assert gsi.message.startswith("UpdateTable") and "spec.globalSecondaryIndexes" in gsi.message


def test_pod_ordinal() -> None:
    assert pod_ordinal("table-orders-0") == 0
    assert pod_ordinal("table-my-table-12") == 12
    assert pod_ordinal("table-orders") is None
    assert pod_ordinal("orders-") is None
    assert pod_ordinal("x-\u0661") is None  # non-ASCII digits are not an ordinal
