"""What this gateway is asking of each function version, published to Redis about once a second.

:class:`LoadTracker` is pure bookkeeping (in flight, peak since the last report, waiting, last
request); :class:`LoadReporter` publishes its snapshots with :func:`kumo.scaling.signals.publish`,
so the operator's autoscaler can add up several gateway replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kumo.scaling.signals import Load, publish

log = logging.getLogger("kumo.gateway.kubernetes")
#: Versions with nothing running, waiting or requested for this long drop out of reports.
FORGET_AFTER_S = 3600.0


@dataclass
class _Counters:
    inflight: int = 0
    peak: int = 0
    waiting: int = 0
    last_request: float | None = None


class LoadTracker:
    """Counters per signal field (``<namespace>/<function>/<version>``)."""

    def __init__(self) -> None:
        self._counters: dict[str, _Counters] = {}

    def _get(self, field: str) -> _Counters:
        counters = self._counters.get(field)
        if counters is None:
            counters = self._counters[field] = _Counters()
        return counters

    def requested(self, field: str, now: float | None = None) -> None:
        self._get(field).last_request = time.time() if now is None else now

    def started(self, field: str) -> None:
        counters = self._get(field)
        counters.inflight += 1
        counters.peak = max(counters.peak, counters.inflight)

    def finished(self, field: str) -> None:
        counters = self._get(field)
        counters.inflight = max(0, counters.inflight - 1)

    def wait_started(self, field: str) -> None:
        self._get(field).waiting += 1

    def wait_finished(self, field: str) -> None:
        counters = self._get(field)
        counters.waiting = max(0, counters.waiting - 1)

    def get(self, field: str) -> Load:
        c = self._get(field)
        return Load(inflight=c.inflight, peak=c.peak, waiting=c.waiting, last_request=c.last_request)

    def snapshot(self, now: float | None = None) -> dict[str, Load]:
        """Every field's load; resets each peak to what is in flight now (peak *since the last report*)."""
        now = time.time() if now is None else now
        result: dict[str, Load] = {}
        for field, c in list(self._counters.items()):
            idle = c.inflight == 0 and c.waiting == 0 and c.peak == 0
            if idle and (c.last_request is None or now - c.last_request > FORGET_AFTER_S):
                del self._counters[field]
                continue
            result[field] = Load(inflight=c.inflight, peak=c.peak, waiting=c.waiting, last_request=c.last_request)
            c.peak = c.inflight
        return result


def default_gateway_id() -> str:
    """The pod name (``HOSTNAME``) when set, else a random id; never contains ``:``."""
    name = os.environ.get("HOSTNAME") or f"gw-{uuid.uuid4().hex[:12]}"
    return name.replace(":", "-")


class LoadReporter:
    """Publishes ``tracker.snapshot()`` every ``interval_s`` until stopped (errors are logged, not fatal)."""

    def __init__(self, redis_url: str, tracker: LoadTracker, *, gateway_id: str | None = None, interval_s: float = 1.0):
        self.redis_url = redis_url
        self.tracker = tracker
        self.gateway_id = gateway_id or default_gateway_id()
        self.interval_s = interval_s
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        #: Reports published (for tests).
        self.reports = 0

    async def start(self) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.redis_url)
        self._task = asyncio.create_task(self._run(), name="kumo-load-reporter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._redis is not None:
            with contextlib.suppress(Exception):  # best effort: we are gone, so no load
                await asyncio.wait_for(publish(self._redis, self.gateway_id, {}), 2)
            await self._redis.aclose()
            self._redis = None

    async def _run(self) -> None:
        while True:
            try:
                await publish(self._redis, self.gateway_id, self.tracker.snapshot())
                self.reports += 1
            except Exception as exc:  # Redis may be away for a while
                log.warning("could not publish load to %s: %s", self.redis_url, exc)
            await asyncio.sleep(self.interval_s)
