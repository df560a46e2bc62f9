"""``kumo up`` follows Table manifest edits (a real ``kumo up``, real boto3): an added Table is served, a
changed TTL attribute applies, a key-schema change is refused naming the file and field while the
table keeps serving, a removed Table stops being served with its data kept, and adding it back
brings the data back."""

from __future__ import annotations

import pytest
from kumo_up import KumoUp, function_manifest
from support import wait_until

SOURCE = "def handler(event, context):\n    return 'ok'\n"


def table(name: str, key: str = "id", **spec) -> dict:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Table",
        "metadata": {"name": name},
        "spec": {"partitionKey": {"name": key, "type": "S"}, "partitions": 2, **spec},
    }


def dynamodb(up: KumoUp):
    return up.client("dynamodb")  # signed with the default key of this kumo up


def tables(up: KumoUp) -> list[str]:
    return dynamodb(up).list_tables()["TableNames"]


@pytest.fixture
def up(tmp_path):
    kumo = KumoUp([function_manifest("fn", SOURCE), table("kept")], tmp_path, args=["--watch-interval", "0.1"])
    try:
        yield kumo
    finally:
        kumo.stop()


def test_table_edits_apply_while_running(up: KumoUp) -> None:
    ddb = dynamodb(up)
    assert tables(up) == ["kept"]
    ddb.put_item(TableName="kept", Item={"id": {"S": "k1"}})

    # Added: partitions started and served.
    up.write_manifests([function_manifest("fn", SOURCE), table("kept"), table("orders")])
    wait_until(lambda: tables(up) == ["kept", "orders"], what="orders served")
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}, "n": {"N": "1"}})
    assert ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})["Item"]["n"] == {"N": "1"}
    assert "table orders: 2 partition(s) up" in up.output()

    # Changed settings: the TTL attribute applies.
    up.write_manifests([function_manifest("fn", SOURCE), table("kept"), table("orders", ttlAttribute="expires")])
    wait_until(
        lambda: (
            ddb.describe_time_to_live(TableName="orders")["TimeToLiveDescription"].get("AttributeName") == "expires"
        ),
        what="TTL attribute applied",
    )

    # A key-schema change is refused, naming the file and field; the table keeps serving its keys.
    up.write_manifests([function_manifest("fn", SOURCE), table("kept"), table("orders", key="pk")])
    refusal = wait_until(
        lambda: "edit refused" in up.output() and "spec.partitionKey" in up.output() and up.output(),
        what="key change refused",
    )
    line = next(x for x in refusal.splitlines() if "spec.partitionKey" in x)
    assert f"{up.manifest_path}: Table 'orders': spec.partitionKey: the key schema of an existing table" in line
    assert "table has id (S), manifest asks for pk (S)" in line
    assert ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})["Item"]["id"] == {"S": "o1"}
    assert ddb.describe_table(TableName="orders")["Table"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]

    # Removed: not served any more (ResourceNotFoundException), data kept on disk.
    up.write_manifests([function_manifest("fn", SOURCE), table("kept")])
    wait_until(lambda: tables(up) == ["kept"], what="orders no longer served")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException):
        ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})
    kept = up.state_dir / "tables" / ".removed" / "orders" / "table.json"
    wait_until(kept.is_file, what="orders' data moved aside (partitions stopped first)")
    assert not (up.state_dir / "tables" / "orders").exists()
    assert ddb.get_item(TableName="kept", Key={"id": {"S": "k1"}})["Item"]["id"] == {"S": "k1"}  # untouched

    # Added back: the data is back.
    up.write_manifests([function_manifest("fn", SOURCE), table("kept"), table("orders", ttlAttribute="expires")])
    wait_until(lambda: tables(up) == ["kept", "orders"], what="orders served again")
    assert ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})["Item"]["n"] == {"N": "1"}
    assert not (up.state_dir / "tables" / ".removed" / "orders").exists()
    assert "Traceback" not in up.output()


def test_removed_table_stays_removed_after_restart_and_comes_back_with_its_data(tmp_path) -> None:
    first = KumoUp([table("orders")], tmp_path, args=["--watch-interval", "0.1"])
    try:
        dynamodb(first).put_item(TableName="orders", Item={"id": {"S": "o1"}})
        first.write_manifests([function_manifest("fn", SOURCE)])
        wait_until(lambda: tables(first) == [], what="orders removed")
    finally:
        assert first.stop() == 0
    second = KumoUp([function_manifest("fn", SOURCE)], tmp_path)
    try:
        assert tables(second) == []
    finally:
        assert second.stop() == 0
    third = KumoUp([table("orders")], tmp_path)
    try:
        item = dynamodb(third).get_item(TableName="orders", Key={"id": {"S": "o1"}})
        assert item["Item"] == {"id": {"S": "o1"}}
    finally:
        assert third.stop() == 0
