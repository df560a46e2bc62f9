"""SIGKILL during transactions: of a partition process (restarted by ``kumo up``) and of the gateway
(``kumo up`` itself, started again on the same state). Afterwards every transaction is all-or-nothing:
the transfers' total is unchanged and recovery leaves no item locked."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from pathlib import Path

from botocore.exceptions import ClientError
from support import wait_until
from tables_support import clients, partition_pids, start_kumo, table_manifest

ACCOUNTS = [f"acct-{i}" for i in range(9)]
START = 1000


def _manifests() -> list[dict]:
    return [table_manifest("bank", ("id", "S"), partitions=3)]


def _transfer(frm: str, to: str, amount: int) -> list[dict]:
    def update(key: str, sign: str) -> dict:
        return {
            "Update": {
                "TableName": "bank",
                "Key": {"id": {"S": key}},
                "UpdateExpression": f"SET bal = bal {sign} :a",
                "ExpressionAttributeValues": {":a": {"N": str(amount)}},
            }
        }

    return [update(frm, "-"), update(to, "+")]


def _balances(ddb) -> list[int]:
    out = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": "bank", "Key": {"id": {"S": k}}}} for k in ACCOUNTS]
    )
    return [int(r["Item"]["bal"]["N"]) for r in out["Responses"]]


def _seed(ddb) -> None:
    # Retried while the partitions come up: once (1 of 3 CI runs) the first call met a 403 "invalid platform
    # credential" from a partition port; the cause is not known yet.
    items = [{"Put": {"TableName": "bank", "Item": {"id": {"S": k}, "bal": {"N": str(START)}}}} for k in ACCOUNTS]
    wait_until(
        lambda: ddb.transact_write_items(TransactItems=items),
        timeout=30, interval=0.5, what="the accounts to be seeded", ignore=(ClientError,),
    )  # fmt: skip


class _Burst:
    """Transfer threads (bounded) that count acknowledged transactions and ignore errors while things die."""

    def __init__(self, ddb, threads: int = 4, iterations: int = 2000) -> None:
        self.ddb = ddb
        self.ok = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(s, iterations)) for s in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, seed: int, iterations: int) -> None:
        rng = random.Random(seed)
        for _ in range(iterations):
            if self.stop.is_set():
                return
            frm, to = rng.sample(ACCOUNTS, 2)
            try:
                self.ddb.transact_write_items(TransactItems=_transfer(frm, to, rng.randint(1, 5)))
                self.ok += 1
            except Exception:  # connection refused / 503 / cancellation while a process is down
                time.sleep(0.01)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _settled_total(ddb) -> int:
    """The total once TransactGetItems answers (recovery has decided every prepared transaction on them)."""
    return wait_until(
        lambda: sum(_balances(ddb)), timeout=60, interval=0.3, what="the accounts to be readable", ignore=(ClientError,)
    )


def test_sigkill_of_a_partition_during_transactions(tmp_path):
    kumo = start_kumo(tmp_path, _manifests())
    try:
        ddb, _ = clients(kumo)
        _seed(ddb)
        burst = _Burst(ddb)
        wait_until(lambda: burst.ok >= 30, timeout=30, what="transactions to flow")
        state = kumo.state_dir.resolve()
        pids = partition_pids(state, "bank")
        for victim in (1, 2):
            os.kill(pids[victim], signal.SIGKILL)
            wait_until(
                lambda v=victim: partition_pids(state, "bank").get(v) not in (None, pids[v]),
                timeout=30,
                interval=0.1,
                what=f"partition {victim} to be restarted",
            )
            before = burst.ok
            wait_until(lambda b=before: burst.ok >= b + 30, timeout=60, what="transactions after the restart")
        burst.finish()
        assert _settled_total(ddb) == START * len(ACCOUNTS)
        # Nothing stays locked: a plain write to every account succeeds.
        for k in ACCOUNTS:
            wait_until(
                lambda k=k: ddb.update_item(
                    TableName="bank", Key={"id": {"S": k}}, UpdateExpression="SET touched = :t",
                    ExpressionAttributeValues={":t": {"BOOL": True}},
                ),
                timeout=30, interval=0.2, what=f"{k} to be unlocked", ignore=(ClientError,),
            )  # fmt: skip
        assert sum(_balances(ddb)) == START * len(ACCOUNTS)
    finally:
        kumo.stop()


def _kill_leftovers(state: Path) -> None:
    for pid in partition_pids(state, "bank").values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_sigkill_of_the_gateway_during_transactions(tmp_path):
    kumo = start_kumo(tmp_path, _manifests())
    state = kumo.state_dir.resolve()
    try:
        ddb, _ = clients(kumo)
        _seed(ddb)
        burst = _Burst(ddb, iterations=500)
        wait_until(lambda: burst.ok >= 50, timeout=30, what="transactions to flow")
        kumo.proc.send_signal(signal.SIGKILL)
        kumo.proc.wait(30)
        burst.finish()
    finally:
        kumo.stop()
        wait_until(lambda: (_kill_leftovers(state), not partition_pids(state, "bank"))[1], timeout=30, what="cleanup")

    kumo = start_kumo(tmp_path, _manifests())
    try:
        ddb, _ = clients(kumo)
        assert _settled_total(ddb) == START * len(ACCOUNTS)
        burst = _Burst(ddb, iterations=30)
        burst.finish()
        assert burst.ok > 0
        assert sum(_balances(ddb)) == START * len(ACCOUNTS)
    finally:
        kumo.stop()
