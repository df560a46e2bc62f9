"""Micro-benchmark of the usage-plan check alone (no HTTP): CPU microseconds per call in the gateway
process and in Redis, for the real ``Limits.check`` and for the floor under it.

A private Redis (Unix socket, as ``kumo up`` starts it) and one key on a plan with a throttle and a
quota. Each case runs ``CALLS`` calls, ``CONCURRENCY`` at a time (as wrk -c8 drives the gateway), on
uvloop. Reported per call: the gateway process's CPU time (what competes with the request handling)
and Redis' own CPU time (``INFO cpu``; on a 2-core machine it competes too). Cases:

- ``redis-py PING``: redis-py's cost per command with nothing to do on the server;
- ``redis-py EVALSHA return 0``: the same through ``evalsha`` (an empty script);
- ``floor: raw EVALSHA return 0``: one pre-encoded EVALSHA on an asyncio protocol, replies matched in
  order (no client library): the least a round trip per request can cost;
- ``Limits.check``: the real check (key hash, checks, script), what each keyed request pays;
- ``open: gate lease``: an open route's Redis work, the concurrency gate taking a lease and giving it
  back (the release rides on a later call);
- ``keyed: Limits.admit + lease``: a keyed route's, the checks and the lease in one script call, the
  lease handed to the gate and given back. The last two differ by what a keyed request costs more.

Run: ``.venv/bin/python bench/limits_micro.py``. Everything runs on a private Unix socket.
"""

from __future__ import annotations

import asyncio
import collections
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

CALLS = int(os.environ.get("BENCH_CALLS", "20000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _redis_cpu(redis) -> float:  # type: ignore[no-untyped-def]
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def _measure(name: str, call: Callable[[], Awaitable[object]], redis) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await call()
    per_task = CALLS // CONCURRENCY

    async def worker() -> None:
        for _ in range(per_task):
            await call()

    server_before, cpu_before, began = await _redis_cpu(redis), _cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed, cpu = time.perf_counter() - began, _cpu() - cpu_before
    server = await _redis_cpu(redis) - server_before
    n = per_task * CONCURRENCY
    print(
        f"  {name:<34} gateway CPU {cpu / n * 1e6:6.1f} us/call   redis CPU {server / n * 1e6:5.1f} us/call"
        f"   wall {elapsed / n * 1e6:6.1f} us/call"
    )


class RawEval(asyncio.Protocol):
    """The floor: a pre-encoded command, replies (one line each) resolved in order."""

    def __init__(self) -> None:
        self.waiting: collections.deque[asyncio.Future[bytes]] = collections.deque()
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.waiting and b"\r\n" in self.buffer:
            line, _, self.buffer = self.buffer.partition(b"\r\n")
            self.waiting.popleft().set_result(line)

    def send(self, command: bytes) -> asyncio.Future[bytes]:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        assert self.transport is not None
        self.transport.write(command)
        return future


async def main_async(socket_path: str) -> None:
    from contextlib import asynccontextmanager

    from redis.asyncio import Redis

    from kumo.catalog import Catalog
    from kumo.models import Api, Function
    from kumo_gateway.apigateway.access_log import RequestNote
    from kumo_gateway.apigateway.limits import Limits
    from kumo_gateway.concurrency.gate import ConcurrencyGate
    from kumo_gateway.concurrency.lease_store import LeaseStore

    class NoInstances:  # the gate's wrapped provider: an instance at once (only the leases are measured)
        @asynccontextmanager
        async def acquire(self, function: str, version: str):  # type: ignore[no-untyped-def]
            yield None

    redis = Redis.from_url(f"unix://{socket_path}")
    api = Api.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": "pets"},
            "spec": {
                "routes": [{"method": "GET", "path": "/keyed", "function": "pets", "apiKeyRequired": True}],
                "stages": [{"name": "prod"}],
                "usagePlans": [
                    {
                        "name": "bench",
                        "stages": ["prod"],
                        "throttle": {"rate": 1000000, "burst": 1000000},
                        "quota": {"limit": 2000000000, "period": "MONTH"},
                    }
                ],
            },
        }
    )
    catalog = Catalog()
    catalog.set_function(
        Function.model_validate(
            {
                "metadata": {"name": "pets"},
                "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": ""}}},
            }
        )
    )
    gate = ConcurrencyGate(NoInstances(), catalog, LeaseStore(redis), 1000)  # type: ignore[arg-type]
    limits = Limits(redis, leases=gate)
    assert limits.store is not None
    _, value = await limits.store.create_key("pets", "bench", "bench")
    headers = {"x-api-key": value}
    sha = await redis.script_load("return 0")

    async def check() -> None:
        denied = await limits.check(api, "prod", "GET /keyed", headers, RequestNote())
        assert denied is None, denied

    async def open_lease() -> None:
        async with gate.acquire("pets", "$LATEST"):
            pass

    async def keyed_lease() -> None:
        denied, lease = await limits.admit(api, "prod", "GET /keyed", headers, RequestNote(), "pets")
        assert denied is None, denied
        async with gate.acquire("pets", "$LATEST", lease):
            pass

    reader, writer = await asyncio.get_running_loop().create_unix_connection(RawEval, socket_path)
    raw_command = f"*3\r\n$7\r\nEVALSHA\r\n$40\r\n{sha}\r\n$1\r\n0\r\n".encode()

    print(f"{CALLS} calls, {CONCURRENCY} concurrent (uvloop):")
    await _measure("redis-py PING", redis.ping, redis)
    await _measure("redis-py EVALSHA return 0", lambda: redis.evalsha(sha, 0), redis)
    await _measure("floor: raw EVALSHA return 0", lambda: writer.send(raw_command), redis)
    await _measure("Limits.check (key + plan)", check, redis)
    for _ in range(int(os.environ.get("BENCH_PAIRS", "2"))):  # interleaved: other load shifts both alike
        await _measure("open: gate lease", open_lease, redis)
        await _measure("keyed: Limits.admit + lease", keyed_lease, redis)
    reader.close()
    limits.close()
    await redis.aclose()


def main() -> int:
    import uvloop

    from kumo.redis_server import PrivateRedis

    with tempfile.TemporaryDirectory(prefix="kumo-bench-micro-") as tmp:
        server = PrivateRedis(Path(tmp) / "redis")
        server.start()
        try:
            uvloop.run(main_async(server.socket_path))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
