"""SIGKILL of a partition process during a write burst on a table with a stream and a function fed by it:
after the restart, the stream has a record for every acknowledged write, in order per key, and the
function has received every one of them (at least once, in order per key)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from kumo_up import function_manifest, shared_dir  # tests/e2e, on the path through tables_support
from support import wait_until
from tables_support import partition_pids, start_kumo, table_manifest

RECORDER = """
import json, os

def handler(event, context):
    with open(os.environ["TRACE"], "a") as out:
        for r in event["Records"]:
            out.write(json.dumps([r["dynamodb"]["Keys"]["id"]["S"], r["dynamodb"]["NewImage"]["v"]["N"]]) + "\\n")
"""
WRITERS, KEYS_PER_WRITER = 4, 8


def read_stream(streams: Any, arn: str) -> list[dict[str, Any]]:
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for _ in range(10_000):
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            out += page["Records"]
            if not page["Records"]:
                break
            iterator = page["NextShardIterator"]
    return out


def first_seen_in_order(pairs: list[tuple[str, int]]) -> dict[str, list[int]]:
    """Versions per key in the order they were first seen (re-deliveries dropped)."""
    seen: set[tuple[str, int]] = set()
    out: dict[str, list[int]] = {}
    for key, version in pairs:
        if (key, version) not in seen:
            seen.add((key, version))
            out.setdefault(key, []).append(version)
    return out


def test_sigkill_of_a_partition_loses_no_stream_record(tmp_path: Path) -> None:
    trace = shared_dir(tmp_path) / "trace.jsonl"
    docs = [
        table_manifest("ledger", ("id", "S"), partitions=3, stream={"viewType": "NEW_IMAGE"}),
        function_manifest(
            "recorder",
            RECORDER,
            environment={"TRACE": str(trace)},
            events=[{"stream": {"table": "ledger", "batchSize": 100, "startingPosition": "TRIM_HORIZON"}}],
        ),
    ]
    kumo = start_kumo(tmp_path, docs)
    try:
        ddb, streams = kumo.client("dynamodb"), kumo.client("dynamodbstreams")
        acknowledged: list[tuple[str, int]] = []
        stop = threading.Event()

        def writer(w: int) -> None:
            for version in range(1, 100_000):
                for k in range(KEYS_PER_WRITER):
                    if stop.is_set():
                        return
                    key = f"w{w}-k{k}"
                    try:
                        ddb.put_item(TableName="ledger", Item={"id": {"S": key}, "v": {"N": str(version)}})
                        acknowledged.append((key, version))
                    except ClientError:
                        time.sleep(0.02)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(acknowledged) >= 100, timeout=30, what="the write burst to get going")
            state = kumo.state_dir.resolve()
            pids = partition_pids(state, "ledger")
            assert set(pids) == {0, 1, 2}
            os.kill(pids[1], signal.SIGKILL)
            wait_until(
                lambda: partition_pids(state, "ledger").get(1) not in (None, pids[1]),
                timeout=30,
                interval=0.1,
                what="partition 1 to be restarted",
            )
            restarted_at = len(acknowledged)
            wait_until(lambda: len(acknowledged) >= restarted_at + 100, timeout=60, what="writes after the restart")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        expected = first_seen_in_order(acknowledged)

        # The stream: a record for every acknowledged write, versions increasing per key (the restarted
        # partition may still be opening its database: retried, bounded).
        arn = ddb.describe_table(TableName="ledger")["Table"]["LatestStreamArn"]
        records = wait_until(
            lambda: read_stream(streams, arn),
            timeout=30,
            interval=0.2,
            what="the stream to serve",
            ignore=(ClientError,),
        )
        in_stream = first_seen_in_order(
            [(r["dynamodb"]["Keys"]["id"]["S"], int(r["dynamodb"]["NewImage"]["v"]["N"])) for r in records]
        )
        for key, versions in expected.items():
            assert set(versions) <= set(in_stream[key]), key
            assert in_stream[key] == sorted(in_stream[key]), key

        # The function: every acknowledged write delivered, in order per key.
        def delivered() -> dict[str, list[int]]:
            lines = trace.read_text().splitlines() if trace.exists() else []
            return first_seen_in_order([(k, int(v)) for k, v in map(json.loads, lines)])

        wait_until(
            lambda: all(set(v) <= set(delivered().get(k, [])) for k, v in expected.items()),
            timeout=60,
            interval=0.3,
            what="every acknowledged write to reach the function",
        )
        got = delivered()
        for key in expected:
            assert got[key] == sorted(got[key]) and got[key] == in_stream[key], key
    finally:
        kumo.stop()
    assert not partition_pids(kumo.state_dir.resolve(), "ledger")
