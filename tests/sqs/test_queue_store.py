"""The queue store and a poller against a real Redis: visibility deadlines, deletes, streams written
before the queue was created, and a poller leaving a batch it could not deliver to come back."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from kumo.queue_contract import message_fields, queue_key
from kumo_gateway.sqs.poller import InvokeAnswer, QueueMapping, QueuePoller
from kumo_gateway.sqs.queue_store import QueueStore


def test_messages_come_back_after_their_visibility_timeout_until_deleted(redis_url: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = QueueStore(redis)
        try:
            await store.create("q", {})
            assert await store.send("nope", "x") is None
            message_id, entry = await store.send("q", "one")
            (got,) = await store.receive("q", 10, 1)
            assert (got.message_id, got.entry_id, got.body, got.deliveries) == (message_id, entry, "one", 1)
            assert await store.receive("q", 10, 1) == []
            assert await store.counts("q") == (0, 1)
            await asyncio.sleep(1.1)
            (again,) = await store.receive("q", 10, 1)
            assert (again.entry_id, again.deliveries) == (entry, 2)
            assert await store.delete("q", entry) is True
            assert await store.delete("q", entry) is False
            await asyncio.sleep(1.1)
            assert await store.receive("q", 10, 1) == []
            assert await store.counts("q") == (0, 0)
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_a_stream_written_by_the_contract_alone_is_a_queue(redis_url: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = QueueStore(redis)
        try:
            assert await store.attributes("dest") is None
            await redis.xadd(queue_key("dest"), message_fields("from a destination", message_id="m-1"))
            assert await store.attributes("dest") == {}
            (got,) = await store.receive("dest", 10, 30)
            assert (got.message_id, got.body) == ("m-1", "from a destination")
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_a_poller_leaves_an_undelivered_batch_to_come_back(redis_url: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = QueueStore(redis)
        answers = [InvokeAnswer(429, b"{}", None), InvokeAnswer(200, b"{}", None)]
        calls: list[list[str]] = []

        async def invoker(function: str, payload: bytes, timeout_s: float) -> InvokeAnswer:
            calls.append([r["body"] for r in json.loads(payload)["Records"]])
            return answers.pop(0)

        poller = QueuePoller(QueueMapping("f", "work", 10, 0.0, 3.0), store, invoker, region="r", account_id="a")
        try:
            await store.create("work", {"VisibilityTimeout": "1"})
            for body in ("a", "b"):
                await store.send("work", body)
            assert await poller._deliver(await poller._gather()) is False  # throttled: nothing deleted
            assert await store.counts("work") == (0, 2)
            assert await poller._gather() == []
            await asyncio.sleep(1.1)
            batch = await poller._gather()
            assert [m.deliveries for m in batch] == [2, 2]
            assert await poller._deliver(batch) is True
            assert await store.counts("work") == (0, 0)
            assert calls == [["a", "b"], ["a", "b"]]
            assert (poller.batches, poller.deleted, poller.failed) == (2, 2, 2)
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_run_queue_pollers_follows_the_catalog(redis_url: str) -> None:
    from kumo.catalog import Catalog
    from kumo.models import Function
    from kumo_gateway.event_sources import CatalogSources
    from kumo_gateway.sqs.poller import run_queue_pollers

    def consumer(events: list[dict]) -> Function:
        return Function.model_validate(
            {
                "metadata": {"name": "consumer"},
                "spec": {
                    "runtime": "python3.11",
                    "handler": "app.handler",
                    "code": {"inline": {"app.py": "x"}},
                    "events": events,
                },
            }
        )

    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = QueueStore(redis)
        catalog = Catalog()
        bodies: list[str] = []

        async def invoker(function: str, payload: bytes, timeout_s: float) -> InvokeAnswer:
            bodies.extend(r["body"] for r in json.loads(payload)["Records"])
            return InvokeAnswer(200, b"null", None)

        pollers: dict = {}
        task = asyncio.create_task(
            run_queue_pollers(CatalogSources(catalog), redis, invoker, refresh_s=0.05, pollers=pollers)
        )
        try:
            await store.create("in", {})
            await store.send("in", "before the mapping")
            catalog.set_function(consumer([{"queue": "in"}]))
            for _ in range(100):
                if bodies:
                    break
                await asyncio.sleep(0.05)
            assert bodies == ["before the mapping"]
            assert [m.queue for m in pollers] == ["in"]
            catalog.set_function(consumer([]))
            for _ in range(100):
                if not pollers:
                    break
                await asyncio.sleep(0.05)
            assert pollers == {}
            await store.send("in", "after")
            await asyncio.sleep(0.3)
            assert bodies == ["before the mapping"]
            assert await store.counts("in") == (1, 0)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await redis.aclose()

    asyncio.run(run())
