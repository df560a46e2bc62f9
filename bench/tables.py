"""Tables benchmark: PutItem / GetItem / Query through real DynamoDB-JSON HTTP requests.

Targets, side by side in one run, all driven by the same async client in a separate process:
Kumo (``kumo up``, gateway router + durable partition processes) with 1 and 3 partitions, moto's
server mode (in memory), and the raw storage engine doing the same operations in-process (the ceiling).

Run: ``.venv/bin/python bench/tables.py [--seconds 3] [--concurrency 32]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    # moto picks the service and region from the credential scope; Kumo ignores it.
    "Authorization": "AWS4-HMAC-SHA256 Credential=kumo/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
}
OPS = ("PutItem", "GetItem", "Query")
PKS = 500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)


def request(op: str, i: int, n_written: int) -> dict:
    if op == "PutItem":
        return {"TableName": "bench", "Item": {"pk": {"S": f"p{i % PKS}"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}}}
    j = random.randrange(max(n_written, 1))
    if op == "GetItem":
        return {"TableName": "bench", "Key": {"pk": {"S": f"p{j % PKS}"}, "sk": {"N": str(j)}}}
    return {
        "TableName": "bench",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": f"p{j % PKS}"}},
        "Limit": 10,
    }


async def drive(url: str, op: str, seconds: float, concurrency: int, n_written: int) -> dict:
    """The client (runs in its own process): ``concurrency`` workers for ``seconds``."""
    import aiohttp

    latencies: list[float] = []
    counter = iter(range(10**9))
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{op}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                body = json.dumps(request(op, next(counter), n_written))
                start = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - start)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summary(latencies, elapsed, errors)


def summary(latencies: list[float], elapsed: float, errors: int = 0) -> dict:
    latencies.sort()
    n = len(latencies)
    return {
        "ops": n,
        "ops_s": n / elapsed if elapsed else 0.0,
        "p50_ms": latencies[n // 2] * 1000 if n else 0.0,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "errors": errors,
    }


def run_client(url: str, op: str, seconds: float, concurrency: int, n_written: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--client", url, op, str(seconds), str(concurrency), str(n_written)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 10 + 60,
    )
    return json.loads(out.stdout)


def create_table(url: str, partitions: int | None) -> None:
    import httpx

    body = {
        "TableName": "bench",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if partitions:
        body["Tags"] = [{"Key": "kumo:partitions", "Value": str(partitions)}]
    resp = httpx.post(url, json=body, headers={**HEADERS, "X-Amz-Target": "DynamoDB_20120810.CreateTable"}, timeout=60)
    resp.raise_for_status()


def bench_target(url: str, seconds: float, concurrency: int) -> dict[str, dict]:
    results = {"PutItem": run_client(url, "PutItem", seconds, concurrency, 0)}
    written = results["PutItem"]["ops"]
    for op in ("GetItem", "Query"):
        results[op] = run_client(url, op, seconds, concurrency, written)
    return results


def bench_kumo(partitions: int, seconds: float, concurrency: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kumo.cli", "up", "--port", str(port), "--state-dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
            create_table(f"http://127.0.0.1:{port}/", partitions)
            return bench_target(f"http://127.0.0.1:{port}/", seconds, concurrency)
        finally:
            stop(proc)


def bench_moto(seconds: float, concurrency: int) -> dict[str, dict]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/moto-api/", proc)
        create_table(f"http://127.0.0.1:{port}/", None)
        return bench_target(f"http://127.0.0.1:{port}/", seconds, concurrency)
    finally:
        stop(proc)


def bench_raw(seconds: float) -> dict[str, dict]:
    """The same operations on the storage engine directly, in-process, one at a time (durable commits)."""
    from kumo_tablestore import keys, storage
    from kumo_tablestore.storage import WriteOp

    def key(i: int) -> bytes:
        return keys.table_key(keys.encode_value({"S": f"p{i % PKS}"}), keys.encode_value({"N": str(i)}))

    results = {}
    with tempfile.TemporaryDirectory() as tmp, storage.open(Path(tmp), durability="full") as engine:
        n = 0
        for op in OPS:
            latencies: list[float] = []
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()
            i = 0
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                if op == "PutItem":
                    item = {"pk": {"S": f"p{i % PKS}"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}}
                    engine.write([WriteOp.put(key(i), item)])
                elif op == "GetItem":
                    engine.get(key(random.randrange(n)))
                else:
                    prefix = keys.partition_prefix(keys.encode_value({"S": f"p{random.randrange(PKS)}"}))
                    for _, _raw in zip(range(10), engine.query(prefix), strict=False):
                        pass
                latencies.append(time.perf_counter() - t0)
                i += 1
            results[op] = summary(latencies, time.perf_counter() - started)
            if op == "PutItem":
                n = i
    return results


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    results = {
        "kumo-1p": bench_kumo(1, args.seconds, args.concurrency),
        "kumo-3p": bench_kumo(3, args.seconds, args.concurrency),
        "moto": bench_moto(args.seconds, args.concurrency),
        "raw-engine": bench_raw(args.seconds),
    }
    print(f"tables benchmark: {args.seconds:.0f} s per operation, {args.concurrency} concurrent clients, 2 cores")
    print(f"{'target':<12}{'op':<10}{'ops/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for target, ops in results.items():
        for op, r in ops.items():
            print(f"{target:<12}{op:<10}{r['ops_s']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}")
    print("ratios (ops/s):")
    for op in OPS:
        k1, k3 = results["kumo-1p"][op]["ops_s"], results["kumo-3p"][op]["ops_s"]
        moto, raw = results["moto"][op]["ops_s"] or 1, results["raw-engine"][op]["ops_s"] or 1
        best = max(k1, k3)
        print(
            f"  {op:<9} kumo/moto {best / moto:5.1f}x (target >= 5x)   kumo/raw {best / raw:6.1%} (target >= 33%)   "
            f"3p/1p {k3 / (k1 or 1):4.2f}x (target >= 1.7x)"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, op, seconds, concurrency, written = sys.argv[2:7]
        print(json.dumps(asyncio.run(drive(url, op, float(seconds), int(concurrency), int(written)))))
        sys.exit(0)
    sys.exit(main())
