"""Schedules (``events: [{schedule: "rate(5 minutes)"}]``, EventBridge ``cron(...)``): every ``kumo worker``
runs a :class:`Scheduler`; each tick is fired exactly once however many run, as an async event (the
function's stream: retries, destinations and the dead-letter queue apply).

``fire_due(now)`` looks at the most recent tick at or before ``now`` (:mod:`kumo.schedules`) of every
enabled schedule; one Redis script per new tick claims it (the schedule's last fired tick moves forward
only once: a compare-and-set) and enqueues the EventBridge scheduled event in the same call. After downtime
only the latest missed tick fires (late), never the ticks before it; a schedule seen for the first time
fires from its next tick on."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kumo import schedules
from kumo_gateway.async_.store import AsyncStore
from kumo_gateway.event_sources import FunctionSources, PublishedSources, SourceView

log = logging.getLogger("kumo.scheduler")


@dataclass(frozen=True)
class ScheduleEntry:
    function: str
    expression: str
    schedule: schedules.Schedule
    rule: str
    async_config: str


def rule_name(function: str, index: int) -> str:
    """The EventBridge rule name a schedule stands for (the n-th schedule of the function, from 1)."""
    return f"{function}-schedule-{index}"


def schedule_entries(functions: Iterable[FunctionSources]) -> list[ScheduleEntry]:
    """The enabled schedules of ``functions`` (pure; an expression that no longer parses is skipped)."""
    found = []
    for function in functions:
        index = 0
        for source in function.events:
            if source.schedule is None:
                continue
            index += 1
            if not source.enabled:
                continue
            try:
                parsed = schedules.parse(source.schedule)
            except schedules.ScheduleError as exc:
                log.warning("function %s: schedule skipped: %s", function.name, exc)
                continue
            found.append(
                ScheduleEntry(
                    function.name, source.schedule, parsed, rule_name(function.name, index), function.async_config
                )
            )
    return found


def scheduled_event(*, event_id: str, tick: int, region: str, account_id: str, rule: str) -> dict[str, Any]:
    """EventBridge's scheduled event for ``tick`` (``time``: the tick, not when it was sent)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.fromtimestamp(tick, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{rule}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, store: AsyncStore, view: SourceView) -> None:
        self.store = store
        self.view = view
        #: (function, expression) -> the latest tick this scheduler has settled (fired, or found fired).
        self._settled: dict[tuple[str, str], int] = {}

    async def fire_due(self, now: float) -> list[tuple[str, int]]:
        """Fire each schedule's latest tick at or before ``now`` unless already fired (by anyone); the
        ``(function, tick)`` pairs this call enqueued. One Redis call per schedule and new tick."""
        fired = []
        entries = schedule_entries(self.view.sources())
        current = {(e.function, e.expression) for e in entries}
        for key in set(self._settled) - current:
            del self._settled[key]
        region, account = self.view.region, self.view.account_id
        for entry in entries:
            key = (entry.function, entry.expression)
            tick = schedules.latest_tick(entry.schedule, now)
            if tick is None or self._settled.get(key, -1) >= tick:
                continue
            request_id = str(uuid.uuid4())
            event = scheduled_event(event_id=request_id, tick=tick, region=region, account_id=account, rule=entry.rule)
            entry_id = await self.store.fire_tick(
                function=entry.function,
                expression=entry.expression,
                tick=tick,
                default_config=entry.async_config,
                request_id=request_id,
                arn=f"arn:aws:lambda:{region}:{account}:function:{entry.function}",
                payload=json.dumps(event, separators=(",", ":")).encode(),
            )
            self._settled[key] = tick
            if entry_id is not None:
                log.info("schedule %s of %s fired its tick %d", entry.expression, entry.function, tick)
                fired.append((entry.function, tick))
        return fired


async def run_event_sources(view: PublishedSources, scheduler: Scheduler, *, interval_s: float = 0.5) -> None:
    """The worker's loop until cancelled: re-read the published event sources and fire due ticks."""
    while True:
        try:
            await view.refresh()
            await scheduler.fire_due(time.time())
        except Exception as exc:  # Redis away: the tick is fired (late) once it is back
            log.warning("schedules: %s", exc)
            await asyncio.sleep(1.0)
        await asyncio.sleep(interval_s)
