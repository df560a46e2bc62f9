"""The hot path's one script (``kumo_gateway.admission``) against a real Redis: usage-plan checks and a
concurrency lease in one call, refusals that take nothing, releases that ride on the next call."""

from __future__ import annotations

import asyncio

import redis as sync_redis
from redis.asyncio import Redis

from kumo.models import Api
from kumo_gateway.admission import RELEASE_DELAY_S, AdmissionScript
from kumo_gateway.apigateway import usage_plans
from kumo_gateway.apigateway.api_keys import key_hash
from kumo_gateway.apigateway.limits_store import LimitsStore
from kumo_gateway.apigateway.usage_plans import Outcome
from kumo_gateway.concurrency.lease_store import LeaseStore

NOW = 1_700_000_000.0
POOL = "kumo:concurrency:function:f"


def _limits() -> usage_plans.RouteLimits:
    api = Api.model_validate(
        {
            "metadata": {"name": "pets"},
            "spec": {
                "routes": [{"method": "GET", "path": "/pets", "function": "f", "apiKeyRequired": True}],
                "stages": [{"name": "prod"}],
                "usagePlans": [{"name": "basic", "stages": ["prod"], "quota": {"limit": 10, "period": "DAY"}}],
            },
        }
    )
    return usage_plans.route_limits(api, "prod", "GET /pets")


def _script_calls(client: sync_redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def test_checks_and_lease_in_one_call_and_refusals_take_no_lease(redis_url: str) -> None:
    sync = sync_redis.Redis.from_url(redis_url)

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store, leases = LimitsStore(redis), LeaseStore(redis)
        assert store.script is leases.script  # one script, one connection: releases run before acquires
        try:
            _, value = await store.create_key("pets", "basic", "alice")
            digest, limits = key_hash(value), _limits()
            before = _script_calls(sync)
            outcome, key_id, leased = await store.check_and_lease(limits, digest, NOW, (POOL, "l1", 1, 60_000))
            assert (outcome, leased) == (Outcome.ALLOW, True) and key_id is not None
            assert _script_calls(sync) - before in (1, 2)  # 2: the first EVALSHA met NOSCRIPT
            assert sync.zrange(POOL, 0, -1) == [b"l1"]
            # The pool is full: refused, no lease; the checks passed (the quota counts it, as before).
            assert await store.check_and_lease(limits, digest, NOW, (POOL, "l2", 1, 60_000)) == (
                Outcome.ALLOW,
                key_id,
                False,
            )
            # An unknown key: refused by the checks, no lease taken although the pool has room.
            sync.delete(POOL)
            outcome, _, leased = await store.check_and_lease(limits, key_hash("x" * 40), NOW, (POOL, "l3", 5, 60_000))
            assert (outcome, leased) == (Outcome.FORBIDDEN, False) and sync.zcard(POOL) == 0
            quota = [k for k in sync.keys("kumo:quota:*")]
            assert len(quota) == 1 and sync.get(quota[0]) == b"2"
        finally:
            leases.close()
            await redis.aclose()

    asyncio.run(run())


def test_a_release_rides_on_the_next_call_or_goes_alone_soon(redis_url: str) -> None:
    sync = sync_redis.Redis.from_url(redis_url)

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        leases = LeaseStore(redis)
        try:
            assert await leases.acquire(POOL, "a", 1, 60_000)
            leases.release_soon(POOL, "a")
            before = _script_calls(sync)
            assert await leases.acquire(POOL, "b", 1, 60_000)  # "a" is released first, in the same call
            assert _script_calls(sync) - before == 1
            assert sync.zrange(POOL, 0, -1) == [b"b"]
            leases.release_soon(POOL, "b")
            await asyncio.sleep(RELEASE_DELAY_S + 0.1)  # no next call: it goes alone
            assert sync.zcard(POOL) == 0
            assert _script_calls(sync) - before == 2
        finally:
            leases.close()
            await redis.aclose()

    asyncio.run(run())


def test_releases_not_sent_stay_queued_for_the_next_call(redis_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("kumo_gateway.admission.RELEASE_DELAY_S", 30.0)  # only the next call sends it

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        script = AdmissionScript.shared(redis)
        try:
            await script.run(["a", POOL, "x", "1", "60000"])
            assert script.link is not None
            script.link.address = {"path": "/nonexistent/redis.sock"}  # Redis unreachable for a moment
            script.close()
            script.release_soon(POOL, "x")
            try:
                await script.run(["a", POOL, "y", "1", "60000"])
                raise AssertionError("reached a Redis that is not there")
            except OSError:
                pass
            script.link.address = {"host": "127.0.0.1", "port": int(redis_url.rsplit(":", 1)[1].split("/")[0])}
            answer = await script.run(["a", POOL, "y", "1", "60000"])  # carries the release of "x"
            assert int(answer[3]) == 1
        finally:
            script.close()
            await redis.aclose()

    asyncio.run(run())
