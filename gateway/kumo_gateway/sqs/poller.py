"""The queue event source: pollers that feed Kumo queues to functions in batches, as Lambda's SQS poller.

For each mapping (a Function's ``events: [{queue: NAME, batchSize, maximumBatchingWindow}]``) one
poller receives up to ``batchSize`` messages (gathering for at most ``maximumBatchingWindow``), invokes
the function synchronously through the gateway's Invoke API with an SQS event, then deletes what
succeeded. Failed messages (a function error, a throttle, an unreachable gateway, or the ids the
function named in ``batchItemFailures``) are left in flight and come back after the queue's visibility
timeout. ``run_queue_pollers`` follows the event sources (:mod:`kumo_gateway.event_sources`): mappings
added, changed or removed start and stop their pollers. ``kumo worker`` runs them (every worker: the
queue's consumer group shares the messages), so pollers scale with the workers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import httpx

from kumo_gateway.event_sources import FunctionSources, SourceView
from kumo_gateway.sqs import lambda_events
from kumo_gateway.sqs.protocol import DEFAULT_VISIBILITY_S
from kumo_gateway.sqs.queue_store import QueueStore, Received

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("kumo.queue_pollers")

#: Most messages one receive returns (SQS's limit; larger batches take several).
RECEIVE_MAX = 10
#: Idle polling backs off from the first to the second (seconds) while a queue stays empty.
IDLE_POLL_S = (0.05, 1.0)
#: Pause after a failed invocation or an unreachable Redis before polling again.
FAILURE_PAUSE_S = 1.0


@dataclass(frozen=True)
class QueueMapping:
    function: str
    queue: str
    batch_size: int
    window_s: float
    timeout_s: float


def queue_mappings(functions: Iterable[FunctionSources]) -> set[QueueMapping]:
    """The enabled queue mappings of ``functions`` (pure)."""
    found = set()
    for function in functions:
        for source in function.events:
            if source.queue is not None and source.enabled:
                found.add(
                    QueueMapping(
                        function.name,
                        source.queue,
                        source.batch_size,
                        source.maximum_batching_window,
                        function.timeout_s,
                    )
                )
    return found


class InvokeAnswer(NamedTuple):
    status: int
    payload: bytes
    function_error: str | None


Invoker = Callable[[str, bytes, float], Awaitable[InvokeAnswer]]


class GatewayInvoker:
    """Invokes through a gateway's Invoke API (``auth`` signs, e.g. :class:`kumo.aws_signing.SigV4Auth`)."""

    def __init__(self, base_url: str, auth: httpx.Auth | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(auth=auth) if auth is not None else httpx.AsyncClient()

    async def __call__(self, function: str, payload: bytes, timeout_s: float) -> InvokeAnswer:
        response = await self.client.post(
            f"{self.base_url}/2015-03-31/functions/{function}/invocations",
            content=payload,
            headers={"Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"},
            timeout=timeout_s + 30,
        )
        return InvokeAnswer(response.status_code, response.content, response.headers.get("x-amz-function-error"))

    async def aclose(self) -> None:
        await self.client.aclose()


class QueuePoller:
    """Feeds one queue to one function until cancelled."""

    def __init__(
        self, mapping: QueueMapping, store: QueueStore, invoker: Invoker, *, region: str, account_id: str
    ) -> None:
        self.mapping = mapping
        self.store = store
        self.invoker = invoker
        self.region = region
        self.account_id = account_id
        #: Batches invoked and messages deleted and left to fail (for tests and logs).
        self.batches = self.deleted = self.failed = 0

    async def run(self) -> None:
        idle = IDLE_POLL_S[0]
        while True:
            try:
                batch = await self._gather()
                if batch:
                    idle = IDLE_POLL_S[0]
                    delivered = await self._deliver(batch)
            except Exception as exc:  # Redis away: what was received comes back after its visibility timeout
                log.warning("queue %s: polling failed (%s)", self.mapping.queue, exc)
                await asyncio.sleep(FAILURE_PAUSE_S)
                continue
            if not batch:
                await asyncio.sleep(idle)
                idle = min(IDLE_POLL_S[1], idle * 2)
            elif not delivered:
                await asyncio.sleep(FAILURE_PAUSE_S)

    async def _gather(self) -> list[Received]:
        mapping = self.mapping
        attributes = await self.store.attributes(mapping.queue)
        if attributes is None:
            return []
        visibility = int(attributes.get("VisibilityTimeout", DEFAULT_VISIBILITY_S))
        deadline = time.monotonic() + mapping.window_s
        batch: list[Received] = []
        while len(batch) < mapping.batch_size:
            got = await self.store.receive(mapping.queue, min(RECEIVE_MAX, mapping.batch_size - len(batch)), visibility)
            batch += got
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not batch:
                break
            if not got:
                await asyncio.sleep(min(IDLE_POLL_S[0], remaining))
        return batch

    async def _deliver(self, batch: list[Received]) -> bool:
        mapping = self.mapping
        payload = lambda_events.event(
            mapping.queue, batch, region=self.region, account_id=self.account_id, received_ms=int(time.time() * 1000)
        )
        ids = [m.message_id for m in batch]
        self.batches += 1
        try:
            answer = await self.invoker(mapping.function, json.dumps(payload).encode(), mapping.timeout_s)
        except Exception as exc:
            log.warning("queue %s → %s: invocation failed (%s)", mapping.queue, mapping.function, exc)
            self.failed += len(batch)
            return False
        if answer.status != 200:
            log.warning("queue %s → %s: the gateway answered %d", mapping.queue, mapping.function, answer.status)
            self.failed += len(batch)
            return False
        failed = lambda_events.failed_messages(answer.payload, answer.function_error, ids)
        for message in batch:
            if message.message_id not in failed:
                await self.store.delete(mapping.queue, message.entry_id)
                self.deleted += 1
        self.failed += len(failed)
        return True


async def run_queue_pollers(
    catalog: SourceView,
    redis: Redis,
    invoker: Invoker,
    *,
    refresh_s: float = 1.0,
    pollers: dict[QueueMapping, QueuePoller] | None = None,
) -> None:
    """Run one poller per queue mapping of ``catalog``'s functions until cancelled (the mappings are
    re-read when its generation changes). ``pollers``, when given, is kept up to date with the running ones."""
    store = QueueStore(redis, consumer=f"{socket.gethostname()}-{os.getpid()}")
    running: dict[QueueMapping, tuple[QueuePoller, asyncio.Task[None]]] = {}
    seen = -1
    try:
        while True:
            if catalog.generation != seen:
                seen = catalog.generation
                wanted = queue_mappings(catalog.sources())
                for mapping in set(running) - wanted:
                    poller, task = running.pop(mapping)
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                for mapping in wanted - set(running):
                    poller = QueuePoller(mapping, store, invoker, region=catalog.region, account_id=catalog.account_id)
                    running[mapping] = (poller, asyncio.create_task(poller.run(), name=f"queue-poller-{mapping.queue}"))
                if pollers is not None:
                    pollers.clear()
                    pollers.update({m: p for m, (p, _) in running.items()})
            await asyncio.sleep(refresh_s)
    finally:
        for _, task in running.values():
            task.cancel()
        await asyncio.gather(*(task for _, task in running.values()), return_exceptions=True)
