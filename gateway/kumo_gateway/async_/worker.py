"""``kumo worker``: consume every function's event stream in the consumer group, run each event through
the gateway, record the outcome (success destination, delayed retry, failure destination or dead-letter
queue) and acknowledge in the same Redis transaction. Several workers share the work; entries a dead
worker left pending are claimed after ``visibility_timeout_s`` (``XAUTOCLAIM``); a live worker keeps its
in-flight entries fresh so that a slow invocation is not claimed twice. Every worker also runs the event
sources the gateway publishes (:mod:`kumo_gateway.event_sources`): the schedules
(:mod:`kumo_gateway.async_.scheduler`) and the queue pollers (:mod:`kumo_gateway.sqs.poller`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from kumo_gateway.async_ import keys, records
from kumo_gateway.async_.event_config import EventConfig, Target
from kumo_gateway.async_.invoker import Attempt, GatewayInvoker
from kumo_gateway.async_.rules import DEFAULT_RETRY_DELAY_S, Action, Outcome, decide, expired
from kumo_gateway.async_.store import AsyncStore, Fields, now_ms

log = logging.getLogger("kumo.worker")
#: Pause after a failed upkeep tick (Redis unreachable) before the next.
UPKEEP_PAUSE_S = 1.0

#: While events run, a read waits this long for more free slots, so one ``XREADGROUP`` fetches several.
READ_GATHER_S = 0.01


@dataclass
class WorkerSettings:
    gateway_url: str
    consumer: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    concurrency: int = 32
    retry_delay_s: float = DEFAULT_RETRY_DELAY_S
    visibility_timeout_s: float = 30.0
    tick_s: float = 0.1
    block_ms: int = 500
    batch_limit: int = 100  # delayed retries moved / stale entries claimed per tick
    parent_pid: int | None = None
    drain_s: float = 10.0  # on stop: how long in-flight events may finish (while Redis answers)
    region: str = "us-east-1"
    account_id: str = "000000000000"


class Worker:
    def __init__(
        self,
        store: AsyncStore,
        invoker: GatewayInvoker,
        settings: WorkerSettings,
        background: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.store = store
        #: Further loops run beside the reader until the worker stops (schedules, queue pollers).
        self.background = background
        self.invoker = invoker
        self.settings = settings
        self.streams: list[str] = []
        self.inflight: dict[str, set[str]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        #: Set whenever an event finishes (a slot may be free again).
        self.freed = asyncio.Event()
        self.stopping = asyncio.Event()

    async def run(self) -> None:
        await self._refresh_streams()
        reader = asyncio.create_task(self._read_loop(), name="async-read")
        upkeep = asyncio.create_task(self._upkeep_loop(), name="async-upkeep")
        loops = [reader, upkeep] + [asyncio.create_task(run()) for run in self.background]
        await self.stopping.wait()
        for task in loops:
            task.cancel()
        for task in loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._drain()

    async def _drain(self) -> None:
        """Let in-flight events finish (for at most ``drain_s``), but only while Redis answers: without it
        their outcome cannot be recorded, so they are dropped at once (still pending in the stream, another
        worker claims them after the visibility timeout) and the worker ends promptly."""
        if self.tasks and await self._redis_answers():
            await asyncio.wait(self.tasks, timeout=self.settings.drain_s)
        if self.tasks:
            log.info("stopping with %d event(s) unfinished: they are claimed again later", len(self.tasks))
            for task in self.tasks:
                task.cancel()
            await asyncio.wait(self.tasks, timeout=1.0)

    async def _redis_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.store.redis.ping(), timeout=1.0)
        except Exception:
            return False
        return True

    def stop(self) -> None:
        self.stopping.set()

    # -- loops ------------------------------------------------------------------------------------

    def _free(self) -> int:
        return self.settings.concurrency - len(self.tasks)

    async def _read_loop(self) -> None:
        batch = max(1, self.settings.concurrency // 4)
        while True:
            while self._free() <= 0:
                self.freed.clear()
                await self.freed.wait()
            if self._free() < batch and self.tasks:  # busy: let a few more finish (fewer, larger reads)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(READ_GATHER_S):
                        while self._free() < batch and self.tasks:
                            self.freed.clear()
                            await self.freed.wait()
            if not self.streams:
                await asyncio.sleep(self.settings.tick_s)
                continue
            try:
                entries = await self.store.read(
                    self.settings.consumer, self.streams, self._free(), self.settings.block_ms
                )
            except Exception as exc:
                log.warning("reading the event streams failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            for stream, (entry_id, fields) in entries:
                self._spawn(stream, entry_id, fields)

    async def _upkeep_loop(self) -> None:
        tick = 0
        touch_every = max(int(self.settings.visibility_timeout_s / 3 / self.settings.tick_s), 1)
        while True:
            await asyncio.sleep(self.settings.tick_s)
            tick += 1
            if self.settings.parent_pid is not None and os.getppid() != self.settings.parent_pid:
                log.info("parent process %s is gone: stopping", self.settings.parent_pid)
                self.stop()
                return
            try:
                await self._refresh_streams()
                await self.store.move_due(self.settings.batch_limit)
                if tick % touch_every == 0:
                    for stream, ids in list(self.inflight.items()):
                        await self.store.touch(stream, self.settings.consumer, sorted(ids))
                await self._claim_stale()
            except Exception as exc:
                log.warning("async upkeep failed: %s", exc)
                # Redis away: no warning flood, no busy loop (but touch our entries before they look stale).
                await asyncio.sleep(min(UPKEEP_PAUSE_S, self.settings.visibility_timeout_s / 3))

    async def _refresh_streams(self) -> None:
        names = await self.store.functions()
        streams = [keys.stream(name) for name in names]
        for stream in streams:
            if stream not in self.streams:
                await self.store.ensure_group(stream)
        self.streams = streams

    async def _claim_stale(self) -> None:
        min_idle = int(self.settings.visibility_timeout_s * 1000)
        for stream in self.streams:
            free = min(self._free(), self.settings.batch_limit)
            if free <= 0:
                return
            claimed = await self.store.claim_stale(stream, self.settings.consumer, min_idle, free)
            for entry_id, fields in claimed:
                if entry_id in self.inflight.get(stream, ()):
                    continue
                log.info("claimed stale event %s on %s (its worker stopped or stalled)", entry_id, stream)
                self._spawn(stream, entry_id, fields)

    def _spawn(self, stream: str, entry_id: str, fields: Fields) -> None:
        self.inflight.setdefault(stream, set()).add(entry_id)
        task = asyncio.create_task(self._handle(stream, entry_id, fields))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.freed.set()

    # -- one event --------------------------------------------------------------------------------

    async def _handle(self, stream: str, entry_id: str, fields: Fields) -> None:
        try:
            await self._process(stream, entry_id, fields)
        except Exception:
            # Left pending: another worker (or this one) claims it after the visibility timeout.
            log.exception("event %s on %s could not be processed", entry_id, stream)
        finally:
            ids = self.inflight.get(stream)
            if ids is not None:
                ids.discard(entry_id)

    async def _process(self, stream: str, entry_id: str, fields: Fields) -> None:
        try:
            config = EventConfig.from_json(fields[keys.F_CONFIG])
            enqueued = int(fields[keys.F_ENQUEUED])
            function, version, request_id = fields[keys.F_FUNCTION], fields[keys.F_VERSION], fields[keys.F_ID]
            attempts, retries = int(fields.get(keys.F_ATTEMPTS, 0)), int(fields.get(keys.F_RETRIES, 0))
        except (KeyError, ValueError) as exc:
            log.error("dropping malformed event %s on %s: %s", entry_id, stream, exc)
            await self.store.ack_only(stream, entry_id, "malformed")
            return
        first = int(fields[keys.F_FIRST]) if fields.get(keys.F_FIRST) else None
        last_error = json.loads(fields[keys.F_ERROR]) if fields.get(keys.F_ERROR) else None
        start = now_ms()
        if expired(enqueued, start, config.max_event_age_s):
            attempt = Attempt(Outcome.THROTTLED, error=last_error)
            await self._fail(stream, entry_id, fields, config, attempt, "EventAgeExceeded", attempts, first, None)
            return
        attempt = await self.invoker.invoke(function, version, fields[keys.F_PAYLOAD].encode(), request_id)
        if attempt.outcome in (Outcome.SUCCESS, Outcome.FUNCTION_ERROR):
            attempts += 1
            first = first or start
        else:
            retries += 1
        decision = decide(
            attempt.outcome,
            attempts=attempts,
            retries=retries,
            max_retry_attempts=config.max_retry_attempts,
            max_event_age_s=config.max_event_age_s,
            enqueued_ms=enqueued,
            now_ms=now_ms(),
            base_delay_s=self.settings.retry_delay_s,
        )
        if decision.action is Action.SUCCEED:
            record = self._record(fields, "Success", attempts, attempt) if config.on_success else None
            queue = await self._deliver(config.on_success, record)
            await self.store.succeed(stream, entry_id, queue, record)
        elif decision.action is Action.RETRY:
            updated = dict(fields)
            updated[keys.F_ATTEMPTS], updated[keys.F_RETRIES] = str(attempts), str(retries)
            if first is not None:
                updated[keys.F_FIRST] = str(first)
            if attempt.error is not None:
                updated[keys.F_ERROR] = json.dumps(attempt.error)
            stat = "retried" if attempt.outcome is Outcome.FUNCTION_ERROR else "throttled"
            await self.store.retry_later(stream, entry_id, updated, now_ms() + int(decision.delay_s * 1000), stat)
        else:
            last = start if attempt.outcome in (Outcome.SUCCESS, Outcome.FUNCTION_ERROR) else None
            await self._fail(stream, entry_id, fields, config, attempt, decision.condition, attempts, first, last)

    async def _fail(
        self,
        stream: str,
        entry_id: str,
        fields: Fields,
        config: EventConfig,
        attempt: Attempt,
        condition: str,
        attempts: int,
        first: int | None,
        last: int | None,
    ) -> None:
        if config.on_failure is not None:
            record = self._record(fields, condition, attempts, attempt)
            queue = await self._deliver(config.on_failure, record)
            await self.store.fail(stream, entry_id, dlq_function=None, dlq_record=None, queue=queue, record=record)
            return
        if last is None and fields.get(keys.F_FIRST):
            last = int(fields[keys.F_FIRST])
        dead = records.dlq_record(
            request_id=fields[keys.F_ID],
            function=fields[keys.F_FUNCTION],
            version=fields[keys.F_VERSION],
            function_arn=fields[keys.F_ARN],
            payload=fields[keys.F_PAYLOAD],
            error=attempt.error,
            condition=condition,
            attempts=attempts,
            enqueued_ms=int(fields[keys.F_ENQUEUED]),
            first_ms=first,
            last_ms=last,
            config=fields[keys.F_CONFIG],
        )
        log.info(
            "event %s of %s dead-lettered (%s after %d attempts)",
            fields[keys.F_ID],
            fields[keys.F_FUNCTION],
            condition,
            attempts,
        )
        await self.store.fail(
            stream, entry_id, dlq_function=fields[keys.F_FUNCTION], dlq_record=dead, queue=None, record=None
        )

    def _record(self, fields: Fields, condition: str, attempts: int, attempt: Attempt) -> dict:
        version = fields[keys.F_VERSION]
        arn = fields[keys.F_ARN]
        qualified = arn if arn.count(":") >= 7 else f"{arn}:{version}"
        return records.destination_record(
            request_id=fields[keys.F_ID],
            function_arn=qualified,
            condition=condition,
            invoke_count=attempts,
            payload=fields[keys.F_PAYLOAD],
            now_ms=now_ms(),
            status_code=attempt.status,
            executed_version=attempt.executed_version,
            function_error=attempt.function_error,
            response=attempt.payload,
        )

    async def _deliver(self, target: Target | None, record: dict | None) -> str | None:
        """A function destination is invoked asynchronously now; a queue's name is returned so the record
        is written in the same transaction as the acknowledgement."""
        if target is None or record is None:
            return None
        if target.kind == "queue":
            return target.name
        body = json.dumps(record).encode()
        for _ in range(3):
            answer = await self.invoker.invoke(target.name, "$LATEST", body, str(uuid.uuid4()), event=True)
            if answer.outcome is Outcome.SUCCESS:
                return None
            if answer.outcome is Outcome.GONE:
                break
            await asyncio.sleep(0.2)
        log.warning("destination function %s did not accept the record: %s", target.name, answer.error)
        await self.store.redis.hincrby(keys.STATS, "destination_failed", 1)
        return None


async def run_worker(redis_url: str, settings: WorkerSettings, auth: object | None) -> int:
    from redis.asyncio import Redis

    from kumo_gateway.async_.scheduler import Scheduler, run_event_sources
    from kumo_gateway.event_sources import PublishedSources
    from kumo_gateway.sqs import poller

    redis = Redis.from_url(redis_url)
    invoker = GatewayInvoker(settings.gateway_url, auth)  # type: ignore[arg-type]
    queue_invoker = poller.GatewayInvoker(settings.gateway_url, auth)  # type: ignore[arg-type]
    store = AsyncStore(redis)
    sources = PublishedSources(redis)
    scheduler = Scheduler(store, sources)
    background = (
        lambda: run_event_sources(sources, scheduler),
        lambda: poller.run_queue_pollers(sources, redis, queue_invoker),
    )
    worker = Worker(store, invoker, settings, background)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, worker.stop)
    log.info("worker %s: consuming async events, invoking through %s", settings.consumer, settings.gateway_url)
    try:
        await worker.run()
    finally:
        await invoker.close()
        await queue_invoker.aclose()
        await redis.aclose()
    log.info("worker %s stopped", settings.consumer)
    return 0
