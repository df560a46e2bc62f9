"""SIGKILL of partition processes and of the gateway (``kumo up``) while transfers run as cross-partition
TransactWriteItems on a 3-partition table with a GSI and a stream. After the restarts:

- every transaction is all-or-nothing: the total is conserved, and every transaction the stream shows
  changed exactly its two accounts by opposite amounts;
- the GSI (a full Scan and a Query per group) equals the projection of the base table exactly, once the
  index has caught up (bounded wait);
- the stream (GetRecords over every shard) has a record for every acknowledged write, in order per key:
  each key's records chain (old image = the previous new image) up to the item as it is now.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from crash_checks import by_key, canonical, chain_breaks, partial_transactions, project, transaction_sides
from kumo_up import KumoUp
from support import wait_until
from tables_support import clients, partition_pids, start_kumo, table_manifest
from test_tables_streams_durability import read_stream

TABLE, INDEX = "vault", "by-group"
ACCOUNTS = [f"acct-{i:02d}" for i in range(12)]
START = 1000
GSI_KEYS, GSI_INCLUDE = ("grp", "bal"), ("tx",)
RETRYABLE = (ClientError, BotoCoreError)


def _manifests() -> list[dict]:
    gsi = {
        "name": INDEX,
        "partitionKey": {"name": "grp", "type": "S"},
        "sortKey": {"name": "bal", "type": "N"},
        "projection": {"type": "INCLUDE", "nonKeyAttributes": list(GSI_INCLUDE)},
    }
    return [
        table_manifest(
            TABLE,
            ("id", "S"),
            partitions=3,
            stream={"viewType": "NEW_AND_OLD_IMAGES"},
            globalSecondaryIndexes=[gsi],
        )
    ]


def _group(account: str) -> str:
    return f"g{int(account[-2:]) % 3}"


def _transfer(txid: str, frm: str, to: str, amount: int) -> list[dict]:
    def update(key: str, sign: str) -> dict:
        return {
            "Update": {
                "TableName": TABLE,
                "Key": {"id": {"S": key}},
                "UpdateExpression": f"SET bal = bal {sign} :a, tx = :t",
                "ExpressionAttributeValues": {":a": {"N": str(amount)}, ":t": {"S": txid}},
            }
        }

    return [update(frm, "-"), update(to, "+")]


class _Gateway:
    """The current ``kumo up`` (replaced when the test restarts it): each thread keeps a client per generation."""

    def __init__(self, kumo: KumoUp) -> None:
        self.kumo = kumo
        self.generation = 0
        self._local = threading.local()

    def replace(self, kumo: KumoUp) -> None:
        self.kumo = kumo
        self.generation += 1

    def ddb(self) -> Any:
        cached = getattr(self._local, "client", None)
        if cached is None or cached[0] != self.generation:
            ddb, _ = clients(self.kumo, connect_timeout=5, read_timeout=30)
            cached = self._local.client = (self.generation, ddb)
        return cached[1]


class _Transfers:
    """Transfer threads (bounded) recording the acknowledged transactions; errors while things die (refused
    connections, 5xx, cancellations) just move on to the next transfer with a new transaction id."""

    def __init__(self, gateway: _Gateway, threads: int = 4, iterations: int = 5000) -> None:
        self.gateway = gateway
        self.acked: list[tuple[str, str, str, int]] = []  # (txid, from, to, amount), appended when answered 200
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(t, iterations)) for t in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, thread: int, iterations: int) -> None:
        rng = random.Random(thread)
        for seq in range(iterations):
            if self.stop.is_set():
                return
            txid = f"t{thread}-{seq:05d}"
            frm, to = rng.sample(ACCOUNTS, 2)
            amount = rng.randint(1, 9)
            try:
                self.gateway.ddb().transact_write_items(TransactItems=_transfer(txid, frm, to, amount))
                self.acked.append((txid, frm, to, amount))
            except Exception:  # the gateway or a partition is down, or a conflict: not acknowledged
                self.stop.wait(0.02)

    def run_on(self, what: str, seconds: float = 5.0, progress: int = 30) -> None:
        """Let the load run ``seconds`` (its share of the ~30 s) and make ``progress`` acknowledged transfers."""
        before, until = len(self.acked), time.monotonic() + seconds
        wait_until(lambda: len(self.acked) >= before + progress, timeout=60, interval=0.1, what=f"transfers {what}")
        self.stop.wait(max(0.0, until - time.monotonic()))

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads)


def _kill_partition(kumo: KumoUp, index: int) -> None:
    state = kumo.state_dir.resolve()
    pid = partition_pids(state, TABLE)[index]
    os.kill(pid, signal.SIGKILL)
    wait_until(
        lambda: partition_pids(state, TABLE).get(index) not in (None, pid),
        timeout=30,
        interval=0.1,
        what=f"partition {index} to be restarted",
    )


def _kill_gateway(kumo: KumoUp) -> None:
    """SIGKILL ``kumo up``; its partitions die with it (parent-death signal; any straggler is killed)."""
    state = kumo.state_dir.resolve()
    kumo.proc.send_signal(signal.SIGKILL)
    kumo.proc.wait(30)
    kumo.stop()

    def gone() -> bool:
        for pid in partition_pids(state, TABLE).values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not partition_pids(state, TABLE)

    wait_until(gone, timeout=30, what="the partitions of the killed kumo up to exit")


def _scan(ddb: Any, **index: str) -> list[dict]:
    items: list[dict] = []
    for page in ddb.get_paginator("scan").paginate(TableName=TABLE, **index):
        items += page["Items"]
    return items


def _query_groups(ddb: Any) -> list[dict]:
    items: list[dict] = []
    for group in ("g0", "g1", "g2"):
        pages = ddb.get_paginator("query").paginate(
            TableName=TABLE,
            IndexName=INDEX,
            KeyConditionExpression="grp = :g",
            ExpressionAttributeValues={":g": {"S": group}},
        )
        found = [i for page in pages for i in page["Items"]]
        balances = [int(i["bal"]["N"]) for i in found]
        assert balances == sorted(balances), f"{group}: not in index sort-key order"
        items += found
    return items


def test_sigkill_of_partitions_and_gateway_during_transactions(tmp_path: Path) -> None:
    gateway = _Gateway(start_kumo(tmp_path, _manifests()))
    transfers = None
    try:
        seed = [
            {"Put": {"TableName": TABLE, "Item": {"id": {"S": a}, "grp": {"S": _group(a)}, "bal": {"N": str(START)},
                                                  "tx": {"S": "seed"}, "note": {"S": "not projected"}}}}
            for a in ACCOUNTS
        ]  # fmt: skip
        wait_until(
            lambda: gateway.ddb().transact_write_items(TransactItems=seed),
            timeout=30, interval=0.5, what="the accounts to be seeded", ignore=RETRYABLE,
        )  # fmt: skip
        transfers = _Transfers(gateway)
        transfers.run_on("to start")
        _kill_partition(gateway.kumo, 1)
        transfers.run_on("after partition 1 was killed")
        _kill_partition(gateway.kumo, 2)
        transfers.run_on("after partition 2 was killed")
        _kill_gateway(gateway.kumo)
        gateway.replace(start_kumo(tmp_path, _manifests()))
        transfers.run_on("after the gateway was killed")
        _kill_partition(gateway.kumo, 0)
        transfers.run_on("after partition 0 was killed")
        transfers.finish()
        acked = transfers.acked
        ddb = gateway.ddb()

        # All-or-nothing: once TransactGetItems answers, recovery has decided every prepared transaction.
        keys = [{"Get": {"TableName": TABLE, "Key": {"id": {"S": a}}}} for a in ACCOUNTS]
        got = wait_until(
            lambda: ddb.transact_get_items(TransactItems=keys)["Responses"],
            timeout=60, interval=0.3, what="the accounts to be readable", ignore=RETRYABLE,
        )  # fmt: skip
        assert sum(int(r["Item"]["bal"]["N"]) for r in got) == START * len(ACCOUNTS)
        base = wait_until(lambda: _scan(ddb), timeout=30, what="a base-table scan", ignore=RETRYABLE)
        assert canonical(base) == canonical(r["Item"] for r in got)

        # The GSI equals the projection of the base table, once the feeder has caught up.
        expected = canonical(project(i, ("id", *GSI_KEYS), GSI_INCLUDE) for i in base)
        wait_until(
            lambda: canonical(_scan(ddb, IndexName=INDEX)) == expected,
            timeout=60, interval=0.3, what="the GSI scan to match the base table", ignore=RETRYABLE,
        )  # fmt: skip
        assert canonical(_query_groups(ddb)) == expected

        # The stream: every key's records chain up to its current item; each transaction is whole.
        streams = gateway.kumo.client("dynamodbstreams", connect_timeout=5)
        arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        records = wait_until(
            lambda: read_stream(streams, arn), timeout=30, interval=0.3, what="the stream", ignore=RETRYABLE
        )
        per_key = by_key(records, "id")
        assert sorted(per_key) == ACCOUNTS
        assert chain_breaks(per_key) == []
        assert {k: rs[-1]["NewImage"] for k, rs in per_key.items()} == {i["id"]["S"]: i for i in base}
        sides = transaction_sides(per_key, "tx", "bal")
        assert partial_transactions(sides) == {}
        for txid, frm, to, amount in acked:
            assert sorted(sides.get(txid, [])) == sorted([(frm, -amount), (to, amount)]), txid
        # In order per key: one thread's acknowledged transfers appear on each key in the order it made them.
        acked_ids = {a[0] for a in acked}
        for k, rs in per_key.items():
            mine = [r["NewImage"]["tx"]["S"] for r in rs if r["NewImage"]["tx"]["S"] in acked_ids]
            for thread in {t.split("-")[0] for t in mine}:
                ours = [t for t in mine if t.startswith(thread + "-")]
                assert ours == sorted(ours), k
    finally:
        if transfers is not None:
            transfers.finish()
        gateway.kumo.stop()
