"""The LMDB partition store: items, ranges, atomic batches, change log, TTL, metadata."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kumo_tablestore import keys, storage, ttl
from kumo_tablestore.errors import ConditionalCheckFailedException
from kumo_tablestore.server import ttl_sweeper
from kumo_tablestore.storage import ChangeRecord, GroupCommitter, StorageEngine, WriteOp


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[StorageEngine]:
    eng = storage.open(tmp_path / "p0", durability="off")
    try:
        yield eng
    finally:
        eng.close()


def pk(value: str) -> bytes:
    return keys.encode_value({"S": value})


def sk(n: int) -> bytes:
    return keys.encode_value({"N": str(n)})


def item(p: str, n: int, **extra: dict) -> dict:
    return {"pk": {"S": p}, "sk": {"N": str(n)}, **extra}


def put(engine: StorageEngine, p: str, n: int, expires_at: int | None = None) -> bytes:
    key = keys.table_key(pk(p), sk(n))
    engine.write([WriteOp.put(key, item(p, n), expires_at)])
    return key


def sks(rows: Iterator[tuple[bytes, bytes]]) -> list[int]:
    return [int(storage.load_item(v)["sk"]["N"]) for _, v in rows]


def test_put_get_delete(engine: StorageEngine) -> None:
    key = put(engine, "a", 1)
    assert engine.get(key) == item("a", 1)
    assert engine.get_raw(key) == storage.dump_item(item("a", 1))
    engine.write([WriteOp.delete(key)])
    assert engine.get(key) is None
    engine.write([WriteOp.delete(key)])  # deleting a missing key is fine
    assert engine.count() == 0


def test_query_bounds_direction_and_pagination(engine: StorageEngine) -> None:
    for p in ["a", "b", "a\x00"]:
        engine.write([WriteOp.put(keys.table_key(pk(p), sk(n)), item(p, n)) for n in range(-5, 45)])
    prefix = keys.partition_prefix(pk("a"))
    assert sks(engine.query(prefix)) == list(range(-5, 45))
    assert sks(engine.query(prefix, forward=False)) == list(range(44, -6, -1))
    assert sks(engine.query(prefix, sk(3), True, sk(7), False)) == [3, 4, 5, 6]
    assert sks(engine.query(prefix, sk(3), False, sk(7), True)) == [4, 5, 6, 7]
    assert sks(engine.query(prefix, sk(3), False, sk(7), True, forward=False)) == [7, 6, 5, 4]
    assert sks(engine.query(prefix, lower=sk(40))) == [40, 41, 42, 43, 44]
    assert sks(engine.query(prefix, upper=sk(-4), forward=False)) == [-4, -5]
    start = keys.table_key(pk("a"), sk(10))
    assert sks(engine.query(prefix, exclusive_start=start))[:2] == [11, 12]
    assert sks(engine.query(prefix, forward=False, exclusive_start=start))[:2] == [9, 8]
    assert sks(engine.query(keys.partition_prefix(pk("zzz")))) == []


def test_query_is_lazy_and_survives_writes_between_chunks(engine: StorageEngine) -> None:
    engine.write([WriteOp.put(keys.table_key(pk("a"), sk(n)), item("a", n)) for n in range(600)])
    it = engine.query(keys.partition_prefix(pk("a")))
    first = [next(it) for _ in range(3)]
    assert sks(iter(first)) == [0, 1, 2]
    engine.write([WriteOp.delete(keys.table_key(pk("a"), sk(n))) for n in range(20, 30)])
    rest = sks(it)
    assert rest[0] == 3 and len(rest) == 597 - 10 and 25 not in rest


def test_scan_in_key_order_with_exclusive_start(engine: StorageEngine) -> None:
    written = sorted(put(engine, p, n) for p in ["x", "y", "z"] for n in range(30))
    scanned = [k for k, _ in engine.scan()]
    assert scanned == written
    assert [k for k, _ in engine.scan(exclusive_start=written[44])] == written[45:]


def test_batch_is_atomic_with_its_change_log(engine: StorageEngine) -> None:
    k1, k2 = keys.table_key(pk("a"), sk(1)), keys.table_key(pk("a"), sk(2))
    records = [ChangeRecord("INSERT", {"pk": {"S": "a"}}, new_image=item("a", n)) for n in (1, 2)]
    seqs = engine.write([WriteOp.put(k1, item("a", 1)), WriteOp.put(k2, item("a", 2))], records)
    assert seqs == [1, 2] and engine.last_sequence == 2
    log = engine.read_change_log(0)
    assert [r.seq for r in log] == [1, 2] and log[0].new_image == item("a", 1)
    assert log[0].timestamp is not None

    bad = WriteOp(k1, "not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        engine.write([WriteOp.delete(k2), bad], [ChangeRecord("REMOVE", {"pk": {"S": "a"}})])
    assert engine.get(k2) == item("a", 2)  # nothing from the failed batch applied
    assert engine.last_sequence == 2 and len(engine.read_change_log(0)) == 2
    assert engine.write([], [ChangeRecord("MODIFY", {})]) == [3]


def test_last_sequence_counts_only_committed_records(engine: StorageEngine) -> None:
    """A reader on another thread (a stream long poll) never sees the number of a record its write
    transaction has not committed: it would read an empty page, or a GSI would start past it."""
    seen_inside: list[tuple[int, int]] = []

    def during_commit(txn: object, log: object) -> None:
        seen_inside.append((engine.last_sequence, len(engine.read_change_log(0))))

    engine.on_commit = during_commit
    engine.write([WriteOp.put(keys.table_key(pk("a")), item("a", 1))], [ChangeRecord("INSERT", {"pk": {"S": "a"}})])
    assert seen_inside == [(0, 0)]
    assert engine.last_sequence == 1 and len(engine.read_change_log(0)) == 1


def test_transact_conditional_writers_do_not_lose_updates(engine: StorageEngine) -> None:
    key = keys.table_key(pk("counter"))

    def increment(current: dict) -> tuple[list[WriteOp], list[ChangeRecord]]:
        old = current[key]
        n = int(old["n"]["N"]) if old else 0
        new = {"pk": {"S": "counter"}, "n": {"N": str(n + 1)}}
        return [WriteOp.put(key, new)], [ChangeRecord("MODIFY" if old else "INSERT", {}, new, old)]

    threads = [
        threading.Thread(target=lambda: [engine.transact([key], increment) for _ in range(50)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert engine.get(key) == {"pk": {"S": "counter"}, "n": {"N": "200"}}
    assert engine.last_sequence == 200

    def fail(current: dict) -> tuple[list, list]:
        raise ConditionalCheckFailedException()

    with pytest.raises(ConditionalCheckFailedException):
        engine.transact([key], fail)
    assert engine.last_sequence == 200


def test_group_commit_batches_concurrent_writers(tmp_path: Path) -> None:
    with storage.open(tmp_path / "g", durability="full") as eng:
        committer = GroupCommitter(eng)
        results: list[list[int]] = []
        lock = threading.Lock()

        def writer(w: int) -> None:
            for i in range(25):
                key = keys.table_key(pk(f"w{w}"), sk(i))
                seqs = committer.write([WriteOp.put(key, item(f"w{w}", i))], [ChangeRecord("INSERT", {})])
                with lock:
                    results.append(seqs)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert eng.count() == 200
        assert sorted(s for r in results for s in r) == list(range(1, 201))
        assert committer.commits < 200  # some commits carried several writers
        assert eng.write_many([([], [ChangeRecord("INSERT", {})]), ([], [])]) == [[201], []]
        # a bad batch fails only its own writer
        with pytest.raises(TypeError):
            committer.write([WriteOp(b"k", 5)])  # type: ignore[arg-type]
        assert committer.write([WriteOp.put(b"k2", {"a": {"S": "b"}})], [ChangeRecord("INSERT", {})]) == [202]


def test_change_log_read_and_trim(engine: StorageEngine) -> None:
    for i in range(10):
        engine.write([], [ChangeRecord("INSERT", {"i": {"N": str(i)}}, timestamp=1000.0 + i)])
    assert [r.seq for r in engine.read_change_log(after_seq=7)] == [8, 9, 10]
    assert [r.seq for r in engine.read_change_log(after_seq=0, limit=2)] == [1, 2]
    assert engine.trim_change_log(before_ts=1004.0) == 4
    assert engine.first_change_sequence() == 5
    assert engine.trim_change_log(before_ts=9999.0) == 6
    assert engine.first_change_sequence() is None
    # sequence numbers are never reused, even after a full trim and reopen
    path = engine.path
    engine.close()
    with storage.open(path) as again:
        assert again.write([], [ChangeRecord("INSERT", {})]) == [11]


def test_expired_items_are_hidden_and_swept(engine: StorageEngine) -> None:
    now = 1_700_000_000.0
    live = put(engine, "a", 1, expires_at=int(now) + 100)
    dead = put(engine, "a", 2, expires_at=int(now) - 1)
    forever = put(engine, "a", 3)
    assert engine.get(dead, now=now) is None
    assert engine.get(dead, now=now, include_expired=True) == item("a", 2)
    assert engine.get(live, now=now) == item("a", 1)
    assert sks(engine.query(keys.partition_prefix(pk("a")), now=now)) == [1, 3]
    assert [k for k, _ in engine.scan(now=now)] == [live, forever]
    assert engine.expired_keys(now) == [dead]
    assert engine.expired_keys(now + 200) == [dead, live]

    def key_map(k: bytes) -> dict:
        return keys.decode_key(k, "pk", "sk")

    assert ttl_sweeper.sweep_once(engine, key_map, now=now) == 1
    assert engine.get(dead, include_expired=True, now=now) is None
    (record,) = engine.read_change_log(0)
    assert record.event_name == "REMOVE" and record.ttl_delete
    assert record.user_identity == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert record.keys == {"pk": {"S": "a"}, "sk": {"N": "2"}} and record.old_image == item("a", 2)
    # overwriting an item without TTL drops it from the expiry index
    engine.write([WriteOp.put(live, item("a", 1))])
    assert engine.expired_keys(now + 200) == []
    assert engine.check_integrity() == []


def test_sweeper_thread_deletes_expired_items(engine: StorageEngine) -> None:
    for n in range(30):
        put(engine, "t", n, expires_at=1)
    stop = threading.Event()
    thread = threading.Thread(
        target=ttl_sweeper.run_sweeper,
        args=(engine, lambda k: keys.decode_key(k, "pk", "sk"), stop),
        kwargs={"interval": 0.01, "batch": 7},
    )
    thread.start()
    try:
        for _ in range(500):
            if engine.count() == 0:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert engine.count() == 0
    assert len(engine.read_change_log(0)) == 30


def test_sweep_skips_locked_items_and_reads_the_stored_expiry_again(engine: StorageEngine) -> None:
    now = 1_700_000_000.0
    held = put(engine, "h", 1, expires_at=int(now) - 5)
    free = put(engine, "h", 2, expires_at=int(now) - 5)
    key_map = lambda k: keys.decode_key(k, "pk", "sk")  # noqa: E731
    # The sweeper reads each stored item with its expiry in its own write transaction.
    seen: dict = {}
    engine.transact_stored([held, free, b"\x53none"], lambda current: (seen.update(current), ([], []))[1])
    assert seen == {held: (item("h", 1), int(now) - 5), free: (item("h", 2), int(now) - 5), b"\x53none": None}
    assert ttl_sweeper.sweep_once(engine, key_map, now=now, locked=lambda k: k == held) == 1
    assert engine.get(held, include_expired=True, now=now) == item("h", 1)  # left for a later pass
    assert [r.keys for r in engine.read_change_log(0)] == [{"pk": {"S": "h"}, "sk": {"N": "2"}}]
    assert ttl_sweeper.sweep_once(engine, key_map, now=now, locked=lambda k: k == held) == 0
    assert ttl_sweeper.sweep_once(engine, key_map, now=now) == 1  # the lock is gone: swept
    assert engine.get(held, include_expired=True, now=now) is None
    assert engine.check_integrity() == []


def test_sweepable_rule() -> None:
    now = 1_700_000_000
    assert ttl.sweepable(now, now, locked=False)
    assert not ttl.sweepable(now, now, locked=True)  # a transaction holds it: a later pass
    assert not ttl.sweepable(now + 10, now, locked=False)  # renewed since the expiry index was read
    assert not ttl.sweepable(None, now, locked=False)  # its TTL attribute was removed


def test_ttl_decision_rules() -> None:
    now = 1_700_000_000
    assert ttl.expiry_of({"e": {"N": str(now)}}, "e", now) == now + 1
    assert ttl.expiry_of({"e": {"N": "1700000000.5"}}, "e", now) == now + 1
    assert ttl.expiry_of({"e": {"S": str(now)}}, "e", now) is None
    assert ttl.expiry_of({"e": {"N": str(now - 6 * 365 * 86400)}}, "e", now) is None
    assert ttl.expiry_of({"e": {"N": str(now)}}, None, now) is None
    assert ttl.expiry_of({}, "e", now) is None
    assert ttl.is_expired(now, now) and not ttl.is_expired(now + 1, now) and not ttl.is_expired(None, now)


def test_metadata_round_trips_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "m"
    with storage.open(path) as eng:
        eng.set_meta("table", {"TableName": "t", "KeySchema": []})
        eng.set_meta("slot_map", {"slots": 16384})
        eng.delete_meta("slot_map")
        with pytest.raises(ValueError):
            eng.set_meta("\x00seq", 1)
    with storage.open(path) as eng:
        assert eng.get_meta("table") == {"TableName": "t", "KeySchema": []}
        assert eng.get_meta("slot_map", "absent") == "absent"


def test_map_grows_when_full(tmp_path: Path) -> None:
    with storage.open(tmp_path / "small", durability="off", map_size=64 * 1024) as eng:
        big = "x" * 1000
        for i in range(20):
            eng.write(
                [WriteOp.put(keys.table_key(pk("a"), sk(n)), {"v": {"S": big}}) for n in range(i * 50, i * 50 + 50)]
            )
        assert eng.count() == 1000
        assert eng.check_integrity() == []


def test_bad_durability_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability"):
        storage.open(tmp_path / "x", durability="sometimes")  # type: ignore[arg-type]
