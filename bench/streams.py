"""Streams benchmark: the time from a DynamoDB write to its stream record reaching a function.

A real ``kumo up`` with a one-partition table (stream ``NEW_IMAGE``) and a function fed by it (one warm
instance), writing the time it saw each record. Each sample is one ``PutItem`` through boto3; the lag is
measured from the write's acknowledgement to the handler's clock (same machine), p50/p99 over the
samples (spaced so each write is alone in its batch). Target: p50 ≤ 50 ms (DynamoDB Streams documents
"near real time"; Alternator's default lag is about 10 s).
Run: ``.venv/bin/python bench/streams.py [--samples 200]``. Every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import boto3
import yaml
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import default_key, kumo_up, p99, shared_work_dir, stop

HANDLER = """
import os, time
def handler(event, context):
    now = time.time()
    with open(os.environ["OUT"], "a") as f:
        for r in event["Records"]:
            f.write(r["dynamodb"]["Keys"]["pk"]["S"] + " " + repr(now) + "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    work, shared = shared_work_dir("kumo-bench-streams-")
    out = shared / "seen.txt"
    manifests = [
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Table",
            "metadata": {"name": "feed"},
            "spec": {"partitionKey": {"name": "pk", "type": "S"}, "stream": {"viewType": "NEW_IMAGE"}},
        },
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Function",
            "metadata": {"name": "consumer"},
            "spec": {
                "runtime": "python3.11",
                "handler": "app.handler",
                "code": {"inline": {"app.py": HANDLER}},
                "environment": {"OUT": str(out)},
                "scaling": {"minInstances": 1},
                "events": [{"stream": {"table": "feed", "batchSize": 100, "startingPosition": "LATEST"}}],
            },
        },
    ]
    (work / "m.yaml").write_text(yaml.safe_dump_all(manifests))
    state = work / "state"
    log = (work / "kumo-up.log").open("wb")
    try:
        proc, base = kumo_up(work / "m.yaml", state, log, timeout_s=60)
    except BaseException:
        log.close()
        raise
    try:
        key = default_key(state)
        ddb = boto3.client(
            "dynamodb",
            endpoint_url=base,
            region_name="us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            config=Config(retries={"max_attempts": 1}),
        )
        # Warm up: the first record wakes the instance and the poller starts from LATEST.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and out.read_text()):
            ddb.put_item(TableName="feed", Item={"pk": {"S": "warm"}})
            time.sleep(0.5)
        acknowledged: dict[str, float] = {}
        write_ms = []
        for i in range(args.samples):
            pk = f"s{i}"
            sent = time.time()
            ddb.put_item(TableName="feed", Item={"pk": {"S": pk}, "n": {"N": str(i)}})
            acknowledged[pk] = time.time()
            write_ms.append((acknowledged[pk] - sent) * 1000)
            time.sleep(0.02)
        deadline = time.monotonic() + 60
        seen: dict[str, float] = {}
        while time.monotonic() < deadline:
            seen = {
                k: float(v) for k, v in (line.split() for line in out.read_text().splitlines()) if k in acknowledged
            }
            if len(seen) >= len(acknowledged):
                break
            time.sleep(0.1)
        lags = sorted(max(seen[k] - acknowledged[k], 0.0) * 1000 for k in seen)
        figures = {
            "samples": len(acknowledged),
            "delivered": len(seen),
            "lag_p50_ms": round(statistics.median(lags), 2),
            "lag_p99_ms": round(p99(lags), 2),
            "write_p50_ms": round(statistics.median(write_ms), 2),
            "target_p50_ms": 50,
        }
        print(json.dumps(figures, indent=2))
        assert len(seen) == len(acknowledged), "some writes never reached the function"
    finally:
        stop(proc, 60)
        log.close()


if __name__ == "__main__":
    main()
