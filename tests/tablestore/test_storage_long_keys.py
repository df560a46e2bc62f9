"""Keys longer than LMDB's 511 bytes: exact order, round trips, ranges, TTL, log and crash safety."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kumo_tablestore import keys, storage
from kumo_tablestore.errors import ValidationException
from kumo_tablestore.protocol import TABLE_PATH, op_path
from kumo_tablestore.server import PartitionServer
from kumo_tablestore.server.table_meta import TableMeta
from kumo_tablestore.storage import ChangeRecord, GroupCommitter, StorageEngine, WriteOp
from kumo_tablestore.storage.long_keys import CHUNK, SHORT_MAX

# Lengths around every boundary of the layout: the group prefix and each trie chunk.
EDGES = sorted({n + d for n in (SHORT_MAX, SHORT_MAX + CHUNK, SHORT_MAX + 2 * CHUNK) for d in (-1, 0, 1, 2)})
BASES = [bytes((i * 7 + 3) % 256 for i in range(5200)), bytes((i * 7 + 3) % 256 for i in range(700)) + b"\x00" * 4500]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[StorageEngine]:
    eng = storage.open(tmp_path / "db", durability="off")
    try:
        yield eng
    finally:
        eng.close()


@st.composite
def raw_keys(draw: st.DrawFn) -> bytes:
    """Byte keys of every size class that share long prefixes and use the marker bytes 00/01/FF."""
    base = draw(st.sampled_from(BASES))
    length = draw(st.sampled_from([1, 5, 100, *EDGES, 2000, 5124]) | st.integers(1, 2000))
    tail = draw(st.binary(max_size=3).map(lambda b: bytes(x % 3 * 0x7F for x in b)))  # 00, 7F, FE
    return b"\x42" + base[: length - 1] + tail


def pairs(rows: Iterator[tuple[bytes, bytes]]) -> list[bytes]:
    return [k for k, _ in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(raw_keys(), min_size=1, max_size=40, unique=True), st.data())
def test_any_mix_of_key_lengths_keeps_exact_byte_order(stored: list[bytes], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as d, storage.open(d, durability="off") as eng:
        eng.write([WriteOp.put(k, {"k": {"N": str(i)}}) for i, k in enumerate(stored)])
        order = sorted(stored)
        assert pairs(eng.scan()) == order
        assert eng.count() == len(stored)
        assert all(eng.get(k) == {"k": {"N": str(i)}} for i, k in enumerate(stored))
        absent = [k for k in (b"\x42" + BASES[0][:n] for n in EDGES) if k not in stored]
        assert eng.get_many(absent) == dict.fromkeys(absent)
        # Ranges: any bounds (stored or not), inclusive or not, both directions, with a resume key.
        probes = stored + [data.draw(raw_keys()) for _ in range(3)]
        for _ in range(4):
            lo, hi = sorted(data.draw(st.sampled_from(probes)) for _ in range(2))
            lo_in, hi_in, fwd = (data.draw(st.booleans()) for _ in range(3))
            want = [k for k in order if (lo < k or (lo_in and k == lo)) and (k < hi or (hi_in and k == hi))]
            got = pairs(eng.query(b"", lo, lo_in, hi, hi_in, forward=fwd))
            assert got == (want if fwd else want[::-1])
            start = data.draw(st.sampled_from(probes))
            after = pairs(eng.query(b"", lo, lo_in, hi, hi_in, forward=fwd, exclusive_start=start))
            assert after == [k for k in got if (k > start if fwd else k < start)]
        assert pairs(eng.scan(exclusive_start=order[len(order) // 2])) == order[len(order) // 2 + 1 :]
        # Deleting removes the trie nodes that become empty.
        gone = data.draw(st.sets(st.sampled_from(stored)))
        eng.write([WriteOp.delete(k) for k in gone])
        assert pairs(eng.scan()) == [k for k in order if k not in gone]
        assert eng.count() == len(stored) - len(gone)
        assert eng.check_integrity() == []
        eng.write([WriteOp.delete(k) for k in stored])
        assert eng.count() == 0 and pairs(eng.scan()) == [] and eng.check_integrity() == []


# ---- DynamoDB order on real key values --------------------------------------------------------


def dynamodb_sort_key(value: dict[str, str]) -> Any:
    """DynamoDB's documented order, computed without Kumo's encoding."""
    ((t, v),) = value.items()
    if t == "N":
        return Decimal(v)
    return v.encode("utf-8") if t == "S" else base64.b64decode(v)


def long_string(n: int, tail: str) -> str:
    return ("k" * 3000)[:n] + tail


S_VALUES = st.builds(long_string, st.sampled_from([1, 600, 1020, 1022]), st.text("aé\x00z", max_size=1)).map(
    lambda s: {"S": s}
)
B_VALUES = st.builds(
    lambda n, tail: {"B": base64.b64encode((b"\x00\xff" * 600)[:n] + tail).decode()},
    st.sampled_from([1, 479, 480, 481, 1000]),
    st.binary(max_size=2),
)
PK_VALUES = st.sampled_from(
    [{"S": "p" * 2048}, {"S": "p" * 2047 + "q"}, {"B": base64.b64encode(b"\0" * 2048).decode()}]
)


@settings(max_examples=30, deadline=None)
@given(PK_VALUES, st.sampled_from(["S", "B", "N"]), st.data())
def test_query_order_equals_dynamodb_order(pk: dict[str, str], sk_type: str, data: st.DataObject) -> None:
    values = {"S": S_VALUES, "B": B_VALUES, "N": st.decimals(-(10**30), 10**30, places=3).map(lambda d: {"N": str(d)})}
    sks = data.draw(st.lists(values[sk_type], min_size=1, max_size=30, unique_by=lambda v: dynamodb_sort_key(v)))
    pk_enc = keys.encode_value(pk)
    with tempfile.TemporaryDirectory() as d, storage.open(d, durability="off") as eng:
        eng.write([WriteOp.put(keys.table_key(pk_enc, keys.encode_value(v)), {"sk": v}) for v in sks])
        got = [storage.load_item(v)["sk"] for _, v in eng.query(keys.partition_prefix(pk_enc))]
        assert [dynamodb_sort_key(v) for v in got] == sorted(dynamodb_sort_key(v) for v in sks)
        back = [storage.load_item(v)["sk"] for _, v in eng.query(keys.partition_prefix(pk_enc), forward=False)]
        assert back == got[::-1]


# ---- engine features with long keys -----------------------------------------------------------

LONG_PK = keys.encode_value({"S": "p" * 2048})


def lk(n: int) -> bytes:
    return keys.table_key(LONG_PK, keys.encode_value({"S": f"{n:05d}" + "s" * 1000}))


def test_paged_queries_and_begins_with_over_chunk_boundaries(engine: StorageEngine) -> None:
    engine.write([WriteOp.put(lk(n), {"n": {"N": str(n)}}) for n in range(300)])
    prefix = keys.partition_prefix(LONG_PK)
    assert pairs(engine.query(prefix)) == [lk(n) for n in range(300)]  # 16 + 256 + 28: three read chunks
    assert pairs(engine.query(prefix, forward=False)) == [lk(n) for n in reversed(range(300))]
    assert pairs(engine.query(prefix, exclusive_start=lk(99))) == [lk(n) for n in range(100, 300)]
    assert pairs(engine.query(prefix, forward=False, exclusive_start=lk(100))) == [lk(n) for n in range(99, -1, -1)]
    begins = keys.encode_value({"S": "0012"})  # begins_with(sk, "0012"): sort keys 00120..00129
    got = pairs(engine.query(prefix, begins, True, keys.prefix_successor(begins), False))
    assert got == [lk(n) for n in range(120, 130)]
    assert pairs(engine.query(prefix, lk(5)[len(prefix) :], False, lk(9)[len(prefix) :], True)) == [
        lk(n) for n in range(6, 10)
    ]
    other = keys.partition_prefix(keys.encode_value({"S": "p" * 2047}))  # a prefix of LONG_PK's value
    assert pairs(engine.query(other)) == []
    assert engine.check_integrity() == []


def test_ttl_index_with_long_keys(engine: StorageEngine) -> None:
    engine.write([WriteOp.put(lk(1), {"a": {"S": "x"}}, expires_at=100), WriteOp.put(lk(2), {"a": {"S": "y"}})])
    engine.write([WriteOp.put(b"\x53short", {"a": {"S": "z"}}, expires_at=150)])
    assert engine.get(lk(1), now=99) is not None and engine.get(lk(1), now=100) is None
    assert engine.get(lk(1), now=100, include_expired=True) == {"a": {"S": "x"}}
    assert pairs(engine.query(keys.partition_prefix(LONG_PK), now=100)) == [lk(2)]
    assert engine.expired_keys(now=200) == [lk(1), b"\x53short"]
    engine.write([WriteOp.put(lk(1), {"a": {"S": "x2"}}, expires_at=300)])  # re-indexed at the new expiry
    assert engine.expired_keys(now=200) == [b"\x53short"]
    assert engine.check_integrity() == []
    engine.write([WriteOp.delete(lk(1))])
    assert engine.expired_keys(now=10**9) == [b"\x53short"]
    assert engine.check_integrity() == []


def test_change_log_transact_and_group_commit(tmp_path: Path) -> None:
    with storage.open(tmp_path / "db", durability="normal") as eng:
        committer = GroupCommitter(eng)

        def writer(w: int) -> None:
            for i in range(20):
                key = lk(w * 100 + i)
                committer.write([WriteOp.put(key, {"w": {"N": str(w)}})], [ChangeRecord("INSERT", {"k": {"N": "1"}})])

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert eng.count() == 80
        assert [r.seq for r in eng.read_change_log(0, 1000)] == list(range(1, 81))

        def bump(current: dict[bytes, Any]) -> tuple[list[WriteOp], list[ChangeRecord]]:
            n = int(current[lk(1)]["w"]["N"]) if current[lk(1)] else 0
            return [WriteOp.put(lk(1), {"w": {"N": str(n + 1)}})], [ChangeRecord("MODIFY", {})]

        eng.transact([lk(1)], bump)
        assert eng.get(lk(1)) == {"w": {"N": "1"}}

        def fail(current: dict[bytes, Any]) -> tuple[list[WriteOp], list[ChangeRecord]]:
            raise ValueError("condition failed")

        with pytest.raises(ValueError):
            eng.transact([lk(7)], fail)
        assert eng.get_many([lk(1), lk(7), lk(999)]) == {
            lk(1): {"w": {"N": "1"}},
            lk(7): {"w": {"N": "0"}},
            lk(999): None,
        }
        assert eng.check_integrity() == []
    with storage.open(tmp_path / "db") as eng:  # reopened: counters and trie persist
        assert eng.count() == 80 and eng.last_sequence == 81
        assert eng.check_integrity() == []


WRITER = textwrap.dedent(
    """
    import sys
    from kumo_tablestore import keys, storage
    from kumo_tablestore.storage import ChangeRecord, WriteOp

    path, run = sys.argv[1], sys.argv[2]
    eng = storage.open(path, durability="full")
    print("ready", flush=True)
    pk = keys.encode_value({"B": "AAAA" * 680})  # 2040 zero bytes: escaping doubles them
    for i in range(1_000_000):  # runs until killed
        batch = []
        for j in range(8):
            key = keys.table_key(pk, keys.encode_value({"S": f"{run}-{i}-{j}-" + "s" * 1000}))
            op = WriteOp.put(key, {"i": {"N": str(i)}}, expires_at=4_000_000_000 + i)
            batch.append(([op], [ChangeRecord("INSERT", {})]))
        eng.write_many(batch)
        for ops, _ in batch:
            sys.stdout.write(ops[0].key.hex() + "\\n")
        sys.stdout.flush()
    """
)


def test_acknowledged_long_key_writes_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "db"
    acked: list[bytes] = []
    for run in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"r{run}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            assert proc.stdout.readline().strip() == "ready"
            for _ in range(10_000):
                line = proc.stdout.readline()
                if not line or len(acked) >= 60 * (run + 1):
                    break
                acked.append(bytes.fromhex(line.strip()))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            rest, err = proc.stdout.read(), proc.stderr.read()  # not communicate(): it skips buffered text
            complete = rest.split("\n")[:-1]  # a line cut off by the kill is not counted
            acked += [bytes.fromhex(x) for x in complete if x]
            assert proc.returncode == -signal.SIGKILL, err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    assert len(acked) >= 120 and all(len(k) > 4000 for k in acked)
    with storage.open(path) as eng:
        assert [k for k in acked if eng.get(k) is None] == []
        assert eng.check_integrity() == []
        assert pairs(eng.scan()) == sorted(pairs(eng.scan()))
        assert eng.count() == len(pairs(eng.scan())) == len(eng.read_change_log(0, 1_000_000))


# ---- DynamoDB's key-size limits ---------------------------------------------------------------


def meta(pk_type: str = "S", sk_type: str = "S") -> TableMeta:
    return TableMeta.from_description(
        {
            "TableName": "t",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": pk_type},
                {"AttributeName": "sk", "AttributeType": sk_type},
            ],
        }
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_key_size_limits_are_dynamodb_s() -> None:
    m = meta()
    key, _ = m.encode_item_key({"pk": {"S": "é" * 1024}, "sk": {"S": "€" * 341 + "a"}})  # 2048 and 1024 bytes
    assert len(key) > 3000
    with pytest.raises(ValidationException) as hk:
        m.encode_request_key({"pk": {"S": "é" * 1024 + "a"}, "sk": {"S": "a"}})
    assert hk.value.message == (
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"
    )
    with pytest.raises(ValidationException) as rk:
        m.encode_item_key({"pk": {"S": "a"}, "sk": {"S": "€" * 342}})
    assert rk.value.message == (
        "One or more parameter values were invalid: "
        "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    )
    mb = meta("B", "B")
    key, _ = mb.encode_request_key({"pk": {"B": b64(b"\0" * 2048)}, "sk": {"B": b64(b"\0" * 1024)}})
    assert mb.decode_key(key) == {"pk": {"B": b64(b"\0" * 2048)}, "sk": {"B": b64(b"\0" * 1024)}}
    with pytest.raises(ValidationException, match="2048"):
        mb.encode_request_key({"pk": {"B": b64(b"\0" * 2049)}, "sk": {"B": b64(b"x")}})
    with pytest.raises(ValidationException, match="1024"):
        mb.encode_request_key({"pk": {"B": b64(b"x")}, "sk": {"B": b64(b"\0" * 1025)}})


async def test_partition_server_stores_and_queries_maximal_keys(tmp_path: Path) -> None:
    srv = PartitionServer(data_dir=tmp_path / "p0", ttl_interval_s=0.2)
    await srv.start()
    try:
        async with aiohttp.ClientSession() as session:

            async def call(method: str, path: str, body: Any) -> tuple[int, Any]:
                async with session.request(method, srv.url + path, json=body) as resp:
                    return resp.status, await resp.json(content_type=None)

            status, _ = await call("PUT", TABLE_PATH, meta().description)
            assert status == 200
            pk = {"S": "p" * 2048}
            for n in (3, 1, 2):
                item = {"pk": pk, "sk": {"S": str(n) + "s" * 1023}, "v": {"N": str(n)}}
                status, out = await call("POST", op_path("PutItem"), {"TableName": "t", "Item": item})
                assert status == 200, out
            status, out = await call(
                "POST",
                op_path("Query"),
                {
                    "TableName": "t",
                    "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                    "ExpressionAttributeValues": {":p": pk, ":s": {"S": "2s"}},
                },
            )
            assert status == 200, out
            assert [i["v"]["N"] for i in out["Items"]] == ["2"]
            status, out = await call(
                "POST",
                op_path("Query"),
                {
                    "TableName": "t",
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": pk},
                    "Limit": 2,
                },
            )
            assert [i["v"]["N"] for i in out["Items"]] == ["1", "2"]
            assert out["LastEvaluatedKey"]["sk"]["S"].startswith("2")
            status, out = await call(
                "POST", op_path("PutItem"), {"TableName": "t", "Item": {"pk": {"S": "p" * 2049}, "sk": {"S": "a"}}}
            )
            assert status == 400 and "maximum size limit of2048 bytes" in out["message"]
    finally:
        await srv.stop()
