"""Outcomes of async events against a real Redis: recorded and acknowledged together, several in one
script call, and a run of an entry another worker already finished counted as a duplicate, not again
as a success (it writes nothing)."""

from __future__ import annotations

import asyncio
import json

import redis as sync_redis
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from kumo import queue_contract
from kumo_gateway.async_ import keys
from kumo_gateway.async_.store import AsyncStore

STREAM = keys.stream("f")


def _script_calls(client: sync_redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


async def _entries(redis: Redis, store: AsyncStore, consumer: str, n: int) -> list[str]:
    await store.ensure_group(STREAM)
    for i in range(n):
        await redis.xadd(STREAM, {"id": f"req-{i}"})
    read = await store.read(consumer, [STREAM], n, 100)
    return [entry_id for _, (entry_id, _) in read]


async def _stats(store: AsyncStore) -> dict[str, int]:
    return await store.stats()


async def test_a_run_of_an_entry_another_worker_finished_is_a_duplicate(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        store = AsyncStore(redis)
        (entry_id,) = await _entries(redis, store, "a", 1)
        # b claims it as stale while a still runs it (a stalled): both run the event.
        claimed = await redis.xclaim(STREAM, keys.GROUP, "b", 0, [entry_id])
        assert len(claimed) == 1
        record = {"requestContext": {"requestId": "req-0"}}
        assert await store.succeed(STREAM, entry_id, "done", record) is True
        assert await store.succeed(STREAM, entry_id, "done", record) is False  # b finishes second
        assert await store.retry_later(STREAM, entry_id, {"id": "req-0"}, 0, "throttled") is False
        stats = await _stats(store)
        assert stats["succeeded"] == 1
        assert stats["duplicates"] == 2
        assert "throttled" not in stats
        assert await redis.xlen(queue_contract.queue_key("done")) == 1  # one success record, not two
        assert await redis.zcard(keys.DELAYED) == 0  # the late throttle did not fork a second event
        assert await redis.xlen(STREAM) == 0
        assert (await redis.xpending(STREAM, keys.GROUP))["pending"] == 0
    finally:
        await redis.aclose()


async def test_outcomes_ending_together_share_one_script_call(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    counter = sync_redis.Redis.from_url(redis_url)
    try:
        store = AsyncStore(redis)
        ids = await _entries(redis, store, "a", 4)
        await store.succeed(STREAM, ids[0], None, None)  # loads the script
        before = _script_calls(counter)
        answers = await asyncio.gather(
            store.succeed(STREAM, ids[1], "done", {"n": 1}),
            store.retry_later(STREAM, ids[2], {"id": "req-2", "n": "1"}, 12345, "retried"),
            store.fail(STREAM, ids[3], dlq_function="f", dlq_record={"n": 3}, queue=None, record=None),
        )
        assert answers == [True, True, True]
        assert _script_calls(counter) - before == 1
        stats = await _stats(store)
        assert (stats["succeeded"], stats["retried"], stats["failed"]) == (2, 1, 1)
        (_, fields), *_ = await redis.xrange(queue_contract.queue_key("done"))
        assert json.loads(fields[queue_contract.FIELD_BODY.encode()]) == {"n": 1}
        ((member, due),) = await redis.zrange(keys.DELAYED, 0, -1, withscores=True)
        assert json.loads(member) == {"s": STREAM, "f": {"id": "req-2", "n": "1"}} and due == 12345
        ((_, dead),) = await redis.xrange(keys.dlq("f"))
        assert json.loads(dead[b"record"]) == {"n": 3}
        assert (await redis.xpending(STREAM, keys.GROUP))["pending"] == 0
    finally:
        counter.close()
        await redis.aclose()


async def test_a_failing_write_fails_only_its_own_outcome(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        store = AsyncStore(redis)
        ids = await _entries(redis, store, "a", 2)
        await redis.set(queue_contract.queue_key("broken"), "not a stream")
        broken, fine = await asyncio.gather(
            store.succeed(STREAM, ids[0], "broken", {"n": 0}),
            store.succeed(STREAM, ids[1], "done", {"n": 1}),
            return_exceptions=True,
        )
        assert isinstance(broken, ResponseError) and "WRONGTYPE" in str(broken)
        assert fine is True
        assert await redis.xlen(queue_contract.queue_key("done")) == 1
    finally:
        await redis.aclose()


async def test_a_malformed_event_is_only_acknowledged(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        store = AsyncStore(redis)
        (entry_id,) = await _entries(redis, store, "a", 1)
        assert await store.ack_only(STREAM, entry_id, "malformed") is True
        assert (await _stats(store))["malformed"] == 1
        assert await redis.xlen(STREAM) == 0
    finally:
        await redis.aclose()
