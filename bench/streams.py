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
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import yaml
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support import free_port, wait_http  # noqa: E402

from kumo_gateway.auth.local_store import DEFAULT_KEY_NAME, read_keys  # noqa: E402

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
    work = Path(tempfile.mkdtemp(prefix="kumo-bench-streams-"))
    shared = work / "shared"  # the function runs as a sandbox uid (kumo up as root): a dir it may write
    shared.mkdir()
    os.chmod(work, 0o711)
    os.chmod(shared, 0o1777)
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
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    state = work / "state"
    log = (work / "kumo-up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kumo_cli", "up", str(work / "m.yaml"), "--port", str(port), "--state-dir", str(state),
         "--watch-interval", "0"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"{base}/healthz", proc=proc, timeout_s=60)
        key = next(k for k in read_keys(state) if k.name == DEFAULT_KEY_NAME)
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
            "lag_p99_ms": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 2),
            "write_p50_ms": round(statistics.median(write_ms), 2),
            "target_p50_ms": 50,
        }
        print(json.dumps(figures, indent=2))
        assert len(seen) == len(acknowledged), "some writes never reached the function"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


if __name__ == "__main__":
    main()
