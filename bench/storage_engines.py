"""Compare embedded storage engines for the table store: SQLite (WAL) vs LMDB.

Measures, for ~1 KB items: durable single puts (one fsync per commit), group-committed batches of 32
puts per commit, point gets and range scans of 100 consecutive keys. Run::

    .venv/bin/python bench/storage_engines.py [--items N] [--puts N]

LMDB is optional (``pip install lmdb``); without it only SQLite is measured. The figures and the
decision are recorded in ``docs/tablestore.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable

VALUE = b'{"pk":{"S":"user"},"payload":{"S":"' + b"x" * 980 + b'"}}'


def key(i: int) -> bytes:
    return b"\x01user\x00\x00\x02" + struct.pack(">Q", i)


def rate(n: int, fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def bench_sqlite(path: str, items: int, puts: int) -> dict[str, float]:
    db = sqlite3.connect(os.path.join(path, "db.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE items (k BLOB PRIMARY KEY, v BLOB NOT NULL, exp INTEGER) WITHOUT ROWID")
    sql = "INSERT OR REPLACE INTO items (k, v, exp) VALUES (?, ?, NULL)"

    def single() -> None:
        for i in range(puts):
            db.execute("BEGIN IMMEDIATE")
            db.execute(sql, (key(i), VALUE))
            db.execute("COMMIT")

    def batched() -> None:
        for b in range(puts * 4 // 32):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(sql, [(key(puts + b * 32 + j), VALUE) for j in range(32)])
            db.execute("COMMIT")

    out = {"put_single": rate(puts, single), "put_batch32": rate(puts * 4, batched)}
    db.execute("BEGIN")
    db.executemany(sql, [(key(i), VALUE) for i in range(items)])
    db.execute("COMMIT")
    probes = [key(random.randrange(items)) for _ in range(20000)]

    def gets() -> None:
        for k in probes:
            db.execute("SELECT v, exp FROM items WHERE k = ?", (k,)).fetchone()

    starts = [key(random.randrange(items - 100)) for _ in range(2000)]

    def ranges() -> None:
        for k in starts:
            rows = db.execute("SELECT k, v FROM items WHERE k >= ? ORDER BY k LIMIT 100", (k,)).fetchall()
            assert len(rows) == 100

    out["get"] = rate(len(probes), gets)
    out["range100"] = rate(len(starts), ranges)
    db.close()
    return out


def bench_lmdb(path: str, items: int, puts: int) -> dict[str, float]:
    import lmdb

    env = lmdb.open(path, map_size=1 << 32, sync=True, metasync=True, max_dbs=4)
    db = env.open_db(b"items")

    def single() -> None:
        for i in range(puts):
            with env.begin(write=True, db=db) as txn:
                txn.put(key(i), VALUE)

    def batched() -> None:
        for b in range(puts * 4 // 32):
            with env.begin(write=True, db=db) as txn:
                for j in range(32):
                    txn.put(key(puts + b * 32 + j), VALUE)

    out = {"put_single": rate(puts, single), "put_batch32": rate(puts * 4, batched)}
    with env.begin(write=True, db=db) as txn:
        for i in range(items):
            txn.put(key(i), VALUE)
    probes = [key(random.randrange(items)) for _ in range(20000)]

    def gets() -> None:
        for k in probes:
            with env.begin(db=db) as txn:
                txn.get(k)

    starts = [key(random.randrange(items - 100)) for _ in range(2000)]

    def ranges() -> None:
        for k in starts:
            with env.begin(db=db) as txn:
                cur = txn.cursor()
                cur.set_range(k)
                rows = []
                for kv in cur:
                    rows.append(kv)
                    if len(rows) == 100:
                        break
                assert len(rows) == 100

    out["get"] = rate(len(probes), gets)
    out["range100"] = rate(len(starts), ranges)
    env.close()
    return out


def bench_kumo(path: str, items: int, puts: int) -> dict[str, float]:
    """The chosen engine through Kumo's own API (adds item JSON, expiry prefix and TTL index)."""
    from kumo_tablestore import storage
    from kumo_tablestore.storage import ChangeRecord, WriteOp

    eng = storage.open(path, durability="full")

    def single() -> None:
        for i in range(puts):
            eng.write([WriteOp.put(key(i), VALUE)], [ChangeRecord("INSERT", {})])

    def batched() -> None:
        for b in range(puts * 4 // 32):
            eng.write_many(
                [([WriteOp.put(key(puts + b * 32 + j), VALUE)], [ChangeRecord("INSERT", {})]) for j in range(32)]
            )

    out = {"put_single": rate(puts, single), "put_batch32": rate(puts * 4, batched)}
    eng.write([WriteOp.put(key(i), VALUE) for i in range(items)])
    probes = [key(random.randrange(items)) for _ in range(20000)]
    prefix = b"\x01user\x00\x00\x02"

    def gets() -> None:
        for k in probes:
            eng.get_raw(k)

    starts = [key(random.randrange(items - 100)) for _ in range(2000)]

    def ranges() -> None:
        for k in starts:
            rows = []
            for row in eng.query(prefix, lower=k[len(prefix) :]):
                rows.append(row)
                if len(rows) == 100:
                    break
            assert len(rows) == 100

    out["get"] = rate(len(probes), gets)
    out["range100"] = rate(len(starts), ranges)
    eng.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50000)
    parser.add_argument("--puts", type=int, default=500)
    args = parser.parse_args()
    engines: dict[str, Callable[[str, int, int], dict[str, float]]] = {"sqlite-wal": bench_sqlite}
    try:
        import lmdb  # noqa: F401

        engines["lmdb"] = bench_lmdb
        engines["kumo-lmdb"] = bench_kumo
    except ImportError:
        print("lmdb not installed: measuring SQLite only")
    print(f"{'engine':<12}{'put single/s':>14}{'put batch32/s':>15}{'get/s':>10}{'range100/s':>13}")
    for name, fn in engines.items():
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as d:
            r = fn(d, args.items, args.puts)
        print(f"{name:<12}{r['put_single']:>14.0f}{r['put_batch32']:>15.0f}{r['get']:>10.0f}{r['range100']:>13.0f}")


if __name__ == "__main__":
    main()
