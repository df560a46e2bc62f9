"""Recovery of transactions a coordinator left prepared, over real partition servers: committed at the
holder → committed everywhere; undecided → the holder decides abort, and a late commit is refused."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tablestore" / "server"))

from partition_support import describe

from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_gateway.dynamodb.txn_recovery import TxnRecovery
from kumo_tablestore import transactions as tx
from kumo_tablestore import wire_json
from kumo_tablestore.partition_client import PartitionClient
from kumo_tablestore.server import PartitionServer


class Directory:
    """Two one-partition tables served by real partition servers."""

    def __init__(self, servers: dict[str, PartitionServer]) -> None:
        self.routes = {n: TableRoute.from_description(describe(n), (s.url,)) for n, s in servers.items()}

    def table_names(self) -> list[str]:
        return sorted(self.routes)

    def route(self, name: str) -> TableRoute | None:
        return self.routes.get(name)


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Directory, PartitionClient]]:
    servers = {n: PartitionServer(data_dir=tmp_path / n) for n in ("a", "b")}
    client = PartitionClient()
    for s in servers.values():
        await s.start()
    try:
        for n, s in servers.items():
            await client.put_description(s.url, describe(n))
        yield Directory(servers), client
    finally:
        await client.close()
        for s in servers.values():
            await s.stop()


async def _op(client: PartitionClient, d: Directory, table: str, operation: str, body: dict[str, Any]) -> tuple:
    status, raw = await client.op(d.routes[table].endpoints[0], operation, body)
    return status, wire_json.loads(raw)


def _prepare(txid: str, table: str) -> dict[str, Any]:
    item = {"pk": {"S": "k"}, "sk": {"S": "s"}, "v": {"N": "1"}}
    return {
        "TxId": txid,
        "Holder": ["a", 0],
        "Actions": [{"Index": 0, "Kind": "Put", "Op": {"TableName": table, "Item": item}}],
    }


async def _item(client: PartitionClient, d: Directory, table: str) -> Any:
    key = {"pk": {"S": "k"}, "sk": {"S": "s"}}
    return (await _op(client, d, table, "GetItem", {"TableName": table, "Key": key}))[1].get("Item")


async def test_commit_decided_at_the_holder_is_finished_on_the_others(setup) -> None:
    d, client = setup
    for table in ("a", "b"):
        assert (await _op(client, d, table, tx.PREPARE, _prepare("x1", table)))[1]["Prepared"] is True
    assert (await _op(client, d, "a", tx.COMMIT, {"TxId": "x1", "Holder": True}))[0] == 200
    assert await _item(client, d, "b") is None  # the coordinator "died" here
    recovery = TxnRecovery(d, client)  # type: ignore[arg-type]
    assert await recovery.sweep(stale_after=0, undecided_after=0) == 1
    assert (await _item(client, d, "b"))["v"] == {"N": "1"}
    assert await recovery.sweep(stale_after=0, undecided_after=0) == 0


async def test_undecided_transaction_is_aborted_and_a_late_commit_refused(setup) -> None:
    d, client = setup
    for table in ("a", "b"):
        assert (await _op(client, d, table, tx.PREPARE, _prepare("x2", table)))[1]["Prepared"] is True
    recovery = TxnRecovery(d, client)  # type: ignore[arg-type]
    assert await recovery.sweep(stale_after=0, undecided_after=60) == 0  # still within the coordinator's time
    assert await recovery.sweep(stale_after=0, undecided_after=0) == 2
    status, body = await _op(client, d, "a", tx.COMMIT, {"TxId": "x2", "Holder": True})
    assert status == 409 and body["__type"].endswith("KumoTransactionAborted")
    assert await _item(client, d, "a") is None and await _item(client, d, "b") is None
    item = {"pk": {"S": "k"}, "sk": {"S": "s"}}
    for table in ("a", "b"):  # unlocked
        assert (await _op(client, d, table, "PutItem", {"TableName": table, "Item": item}))[0] == 200
