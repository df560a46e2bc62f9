"""Crash safety: acknowledged writes survive SIGKILL mid-burst, and the store stays consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kumo_tablestore import keys, storage
from kumo_tablestore.storage import ChangeRecord, WriteOp

WRITER = textwrap.dedent(
    """
    import sys
    from kumo_tablestore import keys, storage
    from kumo_tablestore.storage import ChangeRecord, WriteOp

    path, run, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    eng = storage.open(path, durability="full")
    print("ready", flush=True)
    i = 0
    while True:  # runs until killed
        batches = []
        for _ in range(batch):
            name = f"{run}-{i}"
            key = keys.table_key(keys.encode_value({"S": name}))
            item = {"pk": {"S": name}, "pad": {"S": "x" * 1000}}
            batches.append(([WriteOp.put(key, item)], [ChangeRecord("INSERT", {"pk": {"S": name}}, item)]))
            i += 1
        eng.write_many(batches)
        for ops, _ in batches:
            sys.stdout.write(ops[0].key.hex() + "\\n")
        sys.stdout.flush()
    """
)


def kill_mid_burst(path: Path, run: str, batch: int, acknowledged_before_kill: int) -> list[bytes]:
    """Start a writer, SIGKILL it after some acknowledgements; returns every key it acknowledged."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), run, str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: list[bytes] = []
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(100_000):
            line = proc.stdout.readline()
            if not line:
                break
            acked.append(bytes.fromhex(line.strip()))
            if len(acked) >= acknowledged_before_kill:
                break
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=30)
        acked += [bytes.fromhex(x) for x in rest.split()]
        assert proc.returncode == -signal.SIGKILL, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    return acked


@pytest.mark.parametrize("batch", [1, 16])
def test_acknowledged_writes_survive_sigkill(tmp_path: Path, batch: int) -> None:
    path = tmp_path / "db"
    all_acked: list[bytes] = []
    for run in range(3):
        acked = kill_mid_burst(path, f"r{run}", batch, acknowledged_before_kill=40 + 25 * run)
        assert len(acked) >= 40
        all_acked += acked
        with storage.open(path) as eng:
            missing = [k for k in all_acked if eng.get(k) is None]
            assert missing == []
            assert eng.check_integrity() == []
            log = eng.read_change_log(0, limit=1_000_000)
            assert [r.seq for r in log] == list(range(1, len(log) + 1))
            logged = {keys.table_key(keys.encode_value(r.keys["pk"])) for r in log}
            assert set(all_acked) <= logged


def test_close_and_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with storage.open(path) as eng:
        for n in range(100):
            key = keys.table_key(keys.encode_value({"S": "p"}), keys.encode_value({"N": str(n)}))
            eng.write(
                [WriteOp.put(key, {"n": {"N": str(n)}}, expires_at=4_000_000_000 + n)], [ChangeRecord("INSERT", {})]
            )
        eng.set_meta("ttl", {"AttributeName": "exp", "Enabled": True})
    with storage.open(path) as eng:
        assert eng.count() == 100
        rows = list(eng.query(keys.partition_prefix(keys.encode_value({"S": "p"}))))
        assert [storage.load_item(v)["n"]["N"] for _, v in rows] == [str(n) for n in range(100)]
        assert eng.last_sequence == 100
        assert eng.get_meta("ttl") == {"AttributeName": "exp", "Enabled": True}
        assert len(eng.expired_keys(4_000_000_049)) == 50  # expiry 0..49 have passed
        assert eng.check_integrity() == []
