"""Schedules against a real Redis: two schedulers (as two workers) driven by an injected clock fire each
tick exactly once, as an async event with EventBridge's scheduled-event payload; after downtime only the
latest missed tick fires; the event sources the gateway publishes reach a worker's view."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from kumo.catalog import Catalog
from kumo.models import Function
from kumo_gateway.async_ import keys
from kumo_gateway.async_.scheduler import Scheduler
from kumo_gateway.async_.store import AsyncStore
from kumo_gateway.event_sources import CatalogSources, PublishedSources, publish_sources

T0 = 1_800_000_000  # a multiple of 300 (and 60): 2027-01-15T08:00:00Z


def function(name: str, events: list[dict], async_: dict | None = None) -> Function:
    spec = {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": "x"}}, "events": events}
    if async_ is not None:
        spec["async"] = async_
    return Function.model_validate({"metadata": {"name": name}, "spec": spec})


def test_two_schedulers_fire_each_tick_once(redis_url: str) -> None:
    async def run() -> None:
        catalog = Catalog()
        catalog.set_function(function("report", [{"schedule": "rate(5 minutes)"}], {"maxRetryAttempts": 1}))
        catalog.set_function(function("noon", [{"schedule": "cron(0 12 * * ? *)"}]))
        catalog.set_function(function("paused", [{"schedule": "rate(1 minute)", "enabled": False}]))
        clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
        a, b = (Scheduler(AsyncStore(c), CatalogSources(catalog)) for c in clients)
        try:

            async def both(now: float) -> list[tuple[str, int]]:
                fired = await asyncio.gather(a.fire_due(now), b.fire_due(now))
                return sorted(fired[0] + fired[1])

            # First sight: the ticks are only remembered (nothing that passed before the schedule fires).
            assert await both(T0 + 10) == []
            assert await both(T0 + 299) == []
            assert await both(T0 + 300) == [("report", T0 + 300)]
            assert await both(T0 + 301) == []  # same tick, seen again by both
            # A fresh scheduler (a restarted worker) does not fire a tick already fired.
            c = Scheduler(AsyncStore(clients[0]), CatalogSources(catalog))
            assert await c.fire_due(T0 + 420) == []
            # Downtime: 10 ticks missed, only the latest fires (once).
            assert await both(T0 + 300 * 11 + 7) == [("report", T0 + 3300)]
            # 12:00 UTC the same day.
            noon = T0 + 4 * 3600
            assert await both(noon + 1) == [("noon", noon), ("report", noon)]

            redis = clients[0]
            entries = await redis.xrange(keys.stream("report"))
            assert len(entries) == 3  # T0+300, the latest missed tick, noon
            fields = {k.decode(): v.decode() for k, v in entries[1][1].items()}
            event = json.loads(fields[keys.F_PAYLOAD])
            assert event == {
                "version": "0",
                "id": fields[keys.F_ID],
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": catalog.account_id,
                "time": "2027-01-15T08:55:00Z",
                "region": catalog.region,
                "resources": [f"arn:aws:events:{catalog.region}:{catalog.account_id}:rule/report-schedule-1"],
                "detail": {},
            }
            assert fields[keys.F_VERSION] == "$LATEST"
            assert json.loads(fields[keys.F_CONFIG])["r"] == 1  # the manifest's spec.async applies
            assert await redis.xlen(keys.stream("paused")) == 0
            assert b"report" in await redis.smembers(keys.FUNCTIONS)  # the workers read its stream
        finally:
            for client in clients:
                await client.aclose()

    asyncio.run(run())


def test_a_config_set_through_the_api_applies_to_scheduled_events(redis_url: str) -> None:
    async def run() -> None:
        catalog = Catalog()
        catalog.set_function(function("job", [{"schedule": "rate(1 minute)"}]))
        redis = Redis.from_url(redis_url)
        store = AsyncStore(redis)
        try:
            await store.put_config("job", '{"r":0,"a":60}')
            scheduler = Scheduler(store, CatalogSources(catalog))
            await scheduler.fire_due(T0)
            assert await scheduler.fire_due(T0 + 60) == [("job", T0 + 60)]
            (entry,) = await redis.xrange(keys.stream("job"))
            assert entry[1][keys.F_CONFIG.encode()] == b'{"r":0,"a":60}'
        finally:
            await redis.aclose()

    asyncio.run(run())


def test_published_sources_reach_a_worker_view(redis_url: str) -> None:
    async def run() -> None:
        catalog = Catalog()
        catalog.set_function(function("consumer", [{"queue": "jobs", "batchSize": 4}]))
        catalog.set_function(function("plain", []))
        redis = Redis.from_url(redis_url)
        view = PublishedSources(redis)
        publisher = asyncio.create_task(publish_sources(catalog, redis, interval_s=0.05))
        try:
            for _ in range(100):
                if await view.refresh() and view.sources():
                    break
                await asyncio.sleep(0.05)
            (found,) = view.sources()
            assert (found.name, found.events[0].queue, found.events[0].batch_size) == ("consumer", "jobs", 4)
            assert (view.region, view.account_id) == (catalog.region, catalog.account_id)
            generation = view.generation
            catalog.set_function(function("consumer", [{"schedule": "rate(1 hour)"}]))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if await view.refresh():
                    break
            assert view.generation == generation + 1
            assert [e.schedule for e in view.sources()[0].events] == ["rate(1 hour)"]
            assert await view.refresh() is False  # one GET, nothing changed
        finally:
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)
            await redis.aclose()

    asyncio.run(run())
