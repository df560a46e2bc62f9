"""Leases in a real Redis: the limit holds, releases free slots, a crashed holder's leases expire,
and the lean link and redis-py's script call (other connection kinds) agree."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis

from kumo.catalog import Catalog
from kumo.models import Function
from kumo_gateway.concurrency import rules
from kumo_gateway.concurrency.gate import ConcurrencyGate
from kumo_gateway.concurrency.lease_store import LeaseStore
from kumo_gateway.provider import TooManyRequests


def test_a_pool_holds_at_most_its_limit_and_releases_free_slots(redis_url: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = LeaseStore(redis)
        try:
            assert store.link is not None  # plain TCP: the lean link
            assert [await store.acquire("kumo:concurrency:t", f"l{i}", 2, 60_000) for i in range(3)] == [
                True,
                True,
                False,
            ]
            assert await store.in_use("kumo:concurrency:t") == 2
            assert await store.release("kumo:concurrency:t", "l0") is True
            assert await store.release("kumo:concurrency:t", "l0") is False
            assert await store.acquire("kumo:concurrency:t", "l3", 2, 60_000) is True
            assert 0 < await redis.pttl("kumo:concurrency:t") <= 60_000  # the pool itself expires too
        finally:
            store.close()
            await redis.aclose()

    asyncio.run(run())


def test_the_leases_of_a_crashed_holder_expire(redis_url: str) -> None:
    async def run() -> None:
        crashed, survivor = Redis.from_url(redis_url), Redis.from_url(redis_url)
        holder, other = LeaseStore(crashed), LeaseStore(survivor)
        try:
            assert await holder.acquire("kumo:concurrency:c", "held", 1, 300)
            holder.close()
            await crashed.aclose()  # gone without releasing
            assert await other.acquire("kumo:concurrency:c", "next", 1, 300) is False
            await asyncio.sleep(0.4)
            assert await other.acquire("kumo:concurrency:c", "next", 1, 300) is True
        finally:
            other.close()
            await survivor.aclose()

    asyncio.run(run())


def test_redis_py_script_path_keeps_the_same_limit(redis_url: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = LeaseStore(redis)
        store.link = None  # as for TLS or Sentinel connections
        try:
            assert await store.acquire("kumo:concurrency:p", "a", 1, 60_000) is True
            assert await store.acquire("kumo:concurrency:p", "b", 1, 60_000) is False
            assert await store.release("kumo:concurrency:p", "a") is True
        finally:
            await redis.aclose()

    asyncio.run(run())


def _function(name: str, reserved: int | None) -> Function:
    return Function.model_validate(
        {
            "metadata": {"name": name},
            "spec": {
                "runtime": "python3.11",
                "handler": "app.handler",
                "code": {"inline": {"app.py": "def handler(e, c): return e"}},
                "concurrency": {"reserved": reserved} if reserved is not None else {},
            },
        }
    )


class _Provider:
    """A provider whose instances block until told to finish (just enough to hold leases)."""

    def __init__(self) -> None:
        self.running = 0
        self.release = asyncio.Event()

    @asynccontextmanager
    async def acquire(self, function: str, version: str) -> AsyncIterator[object]:
        self.running += 1
        try:
            await self.release.wait()
            yield object()
        finally:
            self.running -= 1

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@pytest.mark.parametrize(
    ("reserved", "account", "allowed", "reason"),
    [
        (2, 1000, 2, "ReservedFunctionConcurrentInvocationLimitExceeded"),
        (None, 3, 3, "ConcurrentInvocationLimitExceeded"),
    ],
)
def test_the_gate_refuses_calls_over_the_pool_with_its_reason(
    redis_url: str, reserved: int | None, account: int, allowed: int, reason: str
) -> None:
    async def run() -> None:
        catalog = Catalog()
        catalog.set_function(_function("f", reserved))
        redis = Redis.from_url(redis_url)
        inner = _Provider()
        gate = ConcurrencyGate(inner, catalog, LeaseStore(redis), account)

        async def call() -> str:
            try:
                async with gate.acquire("f", "$LATEST"):
                    return "ran"
            except TooManyRequests as exc:
                assert exc.retry_after_s == rules.RETRY_AFTER_S
                return exc.reason

        try:
            tasks = [asyncio.create_task(call()) for _ in range(allowed + 2)]
            await asyncio.sleep(0.3)
            inner.release.set()
            outcomes = await asyncio.gather(*tasks)
            assert sorted(outcomes) == sorted(["ran"] * allowed + [reason] * 2)
            pool, _ = gate.pool("f")
            assert await gate.store.in_use(pool.key) == 0  # every lease given back
        finally:
            gate.store.close()
            await redis.aclose()

    asyncio.run(run())
