"""TTL expiry, restart of ``kumo up`` and SIGKILL of a partition process during a write burst."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

from botocore.exceptions import ClientError
from support import wait_until
from tables_support import clients, manifests, partition_pids, start_kumo


def test_ttl_expiry(ddb_resource):
    table = ddb_resource.Table("events")
    pk = "ttl-" + uuid.uuid4().hex
    table.put_item(Item={"pk": pk, "sk": 1, "expires": int(time.time()) - 10})
    table.put_item(Item={"pk": pk, "sk": 2, "expires": int(time.time()) + 3600})
    table.put_item(Item={"pk": pk, "sk": 3})

    def remaining() -> set[int]:
        query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": pk}, "ConsistentRead": True}
        return {int(i["sk"]) for i in table.query(**query)["Items"]}

    wait_until(lambda: remaining() == {2, 3}, timeout=15, interval=0.2, what="the expired item to be swept")
    assert remaining() == {2, 3}


def test_restart_keeps_data_and_sigkill_loses_no_acknowledged_write(tmp_path):
    kumo = start_kumo(tmp_path, manifests())
    try:
        ddb, resource = clients(kumo)
        resource.Table("items").put_item(Item={"id": "survivor", "v": 1})
        ddb.create_table(
            TableName="adhoc",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        resource.Table("adhoc").put_item(Item={"k": "kept"})

        # SIGKILL partition 1 of "items" in the middle of a write burst.
        table = resource.Table("items")
        acknowledged: list[str] = []
        stop = threading.Event()

        def writer(w: int) -> None:
            for i in range(3000):
                if stop.is_set():
                    return
                key = f"w{w}-{i}"
                try:
                    table.put_item(Item={"id": key, "payload": "x" * 100})
                    acknowledged.append(key)
                except ClientError:
                    time.sleep(0.02)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acknowledged) >= 20, timeout=20, what="the write burst to get going")
        pids = partition_pids(kumo.state_dir.resolve(), "items")
        assert set(pids) == {0, 1, 2}
        os.kill(pids[1], signal.SIGKILL)
        wait_until(
            lambda: partition_pids(kumo.state_dir.resolve(), "items").get(1) not in (None, pids[1]),
            timeout=20,
            interval=0.1,
            what="partition 1 to be restarted",
        )
        # Let writes flow to the restarted partition: more acknowledged writes after its restart.
        restarted_at = len(acknowledged)
        wait_until(lambda: len(acknowledged) >= restarted_at + 50, timeout=30, what="writes after the restart")
        stop.set()
        for t in threads:
            t.join(30)
        assert partition_pids(kumo.state_dir.resolve(), "items")[1] != pids[1]
        assert len(acknowledged) > 50
        # The restarted partition may still be opening its database: wait (bounded) until it serves.
        wait_until(
            lambda: ddb.get_item(TableName="items", Key={"id": {"S": acknowledged[0]}}),
            timeout=30,
            interval=0.2,
            what="the table to serve again",
            ignore=(ClientError,),
        )
        keys = [{"id": {"S": k}} for k in acknowledged]
        found: set[str] = set()
        for i in range(0, len(keys), 100):
            request = {"items": {"Keys": keys[i : i + 100]}}
            for _ in range(20):
                out = ddb.batch_get_item(RequestItems=request)
                found |= {item["id"]["S"] for item in out["Responses"].get("items", [])}
                request = out.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.2)  # back off before asking for the unprocessed keys again, as AWS advises
        assert found == set(acknowledged)
    finally:
        kumo.stop()
    assert not partition_pids(kumo.state_dir.resolve(), "items")  # no orphans

    kumo = start_kumo(tmp_path, manifests())
    try:
        ddb, resource = clients(kumo)
        assert resource.Table("items").get_item(Key={"id": "survivor"})["Item"]["v"] == 1
        assert "adhoc" in ddb.list_tables()["TableNames"]
        assert resource.Table("adhoc").get_item(Key={"k": "kept"})["Item"] == {"k": "kept"}
    finally:
        kumo.stop()
