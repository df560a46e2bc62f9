"""Nothing accepted is lost: a worker SIGKILLed mid-invocation, ``kumo up`` and its Redis SIGKILLed right
after the 202s. Real processes, real Redis (AOF), signed HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
from async_support import RECORDER, kill, private_redis, seen, worker_pids
from kumo_up import KumoUp, function_manifest, shared_dir
from support import wait_until

from kumo_gateway.async_ import keys

EVENTS = 500


async def _send(kumo: KumoUp, function: str, payloads: list[bytes]) -> list[str]:
    """Invoke asynchronously, 16 at a time; the request ids of the 202s."""
    url = f"{kumo.url}/2015-03-31/functions/{function}/invocations"
    headers = {"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"}
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(auth=kumo.auth(), timeout=30) as client:

        async def one(payload: bytes) -> str:
            async with limit:
                response = await client.post(url, content=payload, headers=headers)
            assert response.status_code == 202, response.text
            return response.headers["x-amzn-requestid"]

        return list(await asyncio.gather(*(one(p) for p in payloads)))


def test_a_worker_killed_mid_invocation_loses_no_event(tmp_path: Path) -> None:
    out = shared_dir(tmp_path / "out")  # functions run sandboxed: a dir they may write
    manifests = [
        function_manifest(
            "slow", RECORDER, environment={"OUT_DIR": str(out)}, scaling={"maxInstances": 8}, timeout="10s"
        )
    ]
    args = ["--async-workers", "2", "--async-visibility-timeout", "1s", "--async-retry-delay", "0.2s"]
    kumo = KumoUp(manifests, tmp_path / "up", args=args)
    try:
        workers = wait_until(lambda: len(worker_pids(kumo.proc.pid)) == 2 and worker_pids(kumo.proc.pid), timeout=20)
        ids = asyncio.run(_send(kumo, "slow", [b'{"sleep": 0.05}'] * EVENTS))
        assert len(set(ids)) == EVENTS
        wait_until(lambda: len(seen(out, "slow")) >= 60, timeout=60, what="some events to run")
        kill(workers[0])  # mid-invocation: it holds events it took and has not acknowledged
        done = lambda: {entry["id"] for entry in seen(out, "slow")} >= set(ids)  # noqa: E731
        wait_until(done, timeout=180, interval=0.5, what="every accepted event to run")
        redis = private_redis(kumo.state_dir)
        try:
            wait_until(
                lambda: redis.xpending(keys.stream("slow"), keys.GROUP)["pending"] == 0,
                timeout=30,
                what="every event acknowledged",
            )
            stats = {k.decode(): int(v) for k, v in redis.hgetall(keys.STATS).items()}
        finally:
            redis.close()
        runs = Counter(entry["id"] for entry in seen(out, "slow"))
        duplicates = sum(count - 1 for count in runs.values())
        print(f"\n{EVENTS} events, {duplicates} duplicate runs, stats {stats}")
        # Each event is counted once however often it ran: a run that ends after another worker finished
        # the same entry is a duplicate (and writes nothing).
        assert stats["succeeded"] == EVENTS
        assert stats.get("redelivered", 0) >= 1  # the killed worker's events were claimed by the other
        assert duplicates <= stats.get("redelivered", 0)
    finally:
        kumo.stop()


def test_events_accepted_before_kumo_up_and_redis_are_killed_still_run(tmp_path: Path) -> None:
    out = shared_dir(tmp_path / "out")  # functions run sandboxed: a dir they may write
    manifests = [function_manifest("later", RECORDER, environment={"OUT_DIR": str(out)})]
    workdir = tmp_path / "up"
    first = KumoUp(manifests, workdir, args=["--async-workers", "0", "--redis-appendfsync", "always"])
    try:
        ids = asyncio.run(_send(first, "later", [b'{"n": 1}'] * 20))
        redis_pid = int((first.state_dir / "redis" / "redis.pid").read_text())
        os.kill(first.proc.pid, signal.SIGKILL)  # right after the 202s: the gateway dies
        kill(redis_pid)  # and Redis too: only its append-only file remains
        first.proc.wait(10)
    finally:
        first.stop()
    assert seen(out, "later") == []
    second = KumoUp(manifests, workdir, args=["--async-workers", "1"])
    try:
        done = lambda: {entry["id"] for entry in seen(out, "later")} >= set(ids)  # noqa: E731
        wait_until(done, timeout=60, interval=0.3, what="the events accepted before the crash to run")
    finally:
        second.stop()
