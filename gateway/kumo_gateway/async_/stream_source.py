"""The table-stream event source: pollers that feed a table's stream to a function, as Lambda's
DynamoDB event source mapping (rules in :mod:`stream_rules`).

One poller per (function mapping, shard) — a shard is a partition's change log — holds a lease in
Redis (so only one host polls a shard) and its checkpoint (the last sequence number delivered) in
Redis. It long-polls the partition (``POST /stream`` with ``WaitMs``: a write reaches the poller in
milliseconds), invokes the function synchronously through the gateway's Invoke API with Lambda's
DynamoDB stream event, one batch at a time, so records reach the function in order per key. The
checkpoint moves only after a batch succeeded or was recorded to ``onFailure``: a crash re-delivers
at least once, never skips. ``run_stream_pollers`` follows the catalog and the tables.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from kumo_gateway.async_ import stream_rules
from kumo_gateway.async_.stream_rules import Segment, StreamMapping
from kumo_gateway.dynamodbstreams import names, reader, records, specification
from kumo_gateway.sqs.poller import InvokeAnswer, Invoker
from kumo_gateway.sqs.queue_store import QueueStore
from kumo_tablestore.partition_client import PartitionClient

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from kumo.catalog import Catalog
    from kumo_gateway.dynamodb.table_directory import TableDirectory

log = logging.getLogger("kumo.stream_pollers")

PREFIX = "kumo:stream-source:"
#: The name of the access key the pollers invoke with (local mode's key store, a cluster gateway's own key).
POLLERS_KEY_NAME = "kumo:stream-pollers"
#: How long one long poll of a partition waits for a new record.
LONG_POLL_MS = 1000
#: Pause when the table, its stream or its partition is not there (yet), or Redis is away.
IDLE_PAUSE_S = 1.0
#: A lease outlives the poller that holds it by this much (seconds) beyond its invocation timeout.
LEASE_SLACK_S = 30.0
#: How long a stopping poller tries to give its lease up.
RELEASE_TIMEOUT_S = 2.0
#: Delete the lease only if it is still ours (another host may hold it by now).
_RELEASE_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def shard_key(mapping: StreamMapping, stream_arn: str, partition: int) -> str:
    return f"{PREFIX}{mapping.function}:{stream_arn}:{partition}"


def checkpoint_key(mapping: StreamMapping, stream_arn: str, partition: int) -> str:
    """The last sequence number delivered (or skipped) of one shard for one function."""
    return shard_key(mapping, stream_arn, partition) + ":checkpoint"


def lease_key(mapping: StreamMapping, stream_arn: str, partition: int) -> str:
    return shard_key(mapping, stream_arn, partition) + ":lease"


class ShardPoller:
    """Feeds one shard of a table's stream to one function until cancelled."""

    def __init__(
        self,
        mapping: StreamMapping,
        partition: int,
        directory: TableDirectory,
        client: PartitionClient,
        redis: Redis,
        invoker: Invoker,
        *,
        region: str,
        account_id: str,
        owner: str,
    ) -> None:
        self.mapping = mapping
        self.partition = partition
        self.directory = directory
        self.client = client
        self.redis = redis
        self.invoker = invoker
        self.region = region
        self.account_id = account_id
        self.owner = owner
        self.queues = QueueStore(redis)
        self.lane = f"stream:{mapping.function}:{partition}"
        #: The lease key this poller last held (released when it is cancelled).
        self.held: str | None = None
        #: Counters for tests and logs.
        self.batches = self.delivered = self.failed_batches = 0

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.mapping.function}"

    async def run(self) -> None:
        while True:
            try:
                if not await self.poll_once():
                    await asyncio.sleep(IDLE_PAUSE_S)
            except asyncio.CancelledError:
                await self._release()  # a stopping host hands the shard over now, not at the lease's expiry
                raise
            except Exception as exc:  # a partition restarting, Redis away: nothing moved, try again
                log.warning("stream %s → %s: polling failed (%s)", self.mapping.table, self.mapping.function, exc)
                await asyncio.sleep(IDLE_PAUSE_S)

    async def _lease(self, key: str) -> bool:
        ttl_ms = int((self.mapping.timeout_s + LEASE_SLACK_S) * 1000)
        if await self.redis.set(key, self.owner, nx=True, px=ttl_ms):
            self.held = key
            return True
        holder = await self.redis.get(key)
        if holder is not None and holder.decode() == self.owner:
            await self.redis.pexpire(key, ttl_ms)
            self.held = key
            return True
        return False

    async def _release(self) -> None:
        """Give the lease up if this poller still holds it (best effort: otherwise it expires)."""
        key, self.held = self.held, None
        if key is None:
            return
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_S):
                await self.redis.eval(_RELEASE_SCRIPT, 1, key, self.owner)
        except Exception as exc:  # Redis away or slow: the lease expires by itself
            log.info("stream lease %s not released (%s)", key, exc)

    async def poll_once(self) -> bool:
        """One long poll and what it delivered; False when there is nothing to poll (pause)."""
        mapping = self.mapping
        description = self.directory.description(mapping.table)
        route = self.directory.route(mapping.table)
        if description is None or route is None or not description.get("LatestStreamArn"):
            return False
        if self.partition >= len(route.endpoints):
            return False
        arn = description["LatestStreamArn"]
        if not await self._lease(lease_key(mapping, arn, self.partition)):
            return False
        endpoint = route.endpoints[self.partition]
        ckpt_key = checkpoint_key(mapping, arn, self.partition)
        raw = await self.redis.get(ckpt_key)
        if raw is None:
            head = await reader.read(self.client, endpoint, 0, 1, lane=self.lane)
            start = head.last if mapping.starting_position == "LATEST" else 0
            await self.redis.set(ckpt_key, start, nx=True)
            return True
        after = int(raw)
        page = await reader.read(self.client, endpoint, after, mapping.batch_size, wait_ms=LONG_POLL_MS, lane=self.lane)
        if page.first is not None and after + 1 < page.first:  # trimmed past the checkpoint: go on from what is left
            log.warning("stream %s shard %d: records after %d were trimmed", mapping.table, self.partition, after)
        window = specification.window(description)
        changes = [c for c in page.records if records.in_window(c, window)]
        shard = names.shard_id(description["CreationDateTime"], self.partition)
        view = specification.view_type(description) or "KEYS_ONLY"
        fitting = stream_rules.fit_payload(changes) if changes else 0
        if fitting < len(changes):  # too large for one invocation: the rest is read again next time
            changes = changes[:fitting]
            done = changes[-1]["seq"]
        else:
            done = page.records[-1]["seq"] if page.records else after
        if changes:
            lease = lease_key(mapping, arn, self.partition)
            if not await self._deliver(changes, shard=shard, view=view, arn=arn, ckpt_key=ckpt_key, lease=lease):
                return True  # the lease was lost: another host delivers from the checkpoint
        if done > after:
            await self.redis.set(ckpt_key, done)
        return True

    async def _deliver(
        self, changes: list[dict[str, Any]], *, shard: str, view: str, arn: str, ckpt_key: str, lease: str
    ) -> bool:
        """Deliver ``changes`` in order (retried, bisected, recorded on failure); False if the lease was lost."""
        mapping = self.mapping
        work = [Segment(changes)]
        while work:
            if not await self._lease(lease):
                return False
            segment = work.pop(0)
            event = records.lambda_event(
                segment.changes, shard=shard, view_type=view, region=self.region, stream_arn=arn
            )
            self.batches += 1
            try:
                answer = await self.invoker(mapping.function, json.dumps(event).encode(), mapping.timeout_s)
            except Exception as exc:
                answer = InvokeAnswer(0, str(exc).encode(), None)
            if answer.status != 200:  # throttled or unreachable: not the function's failure, retry as is
                log.warning("stream %s → %s: invocation answered %d", mapping.table, mapping.function, answer.status)
                work.insert(0, segment)
                await asyncio.sleep(stream_rules.retry_pause(segment.attempts + 1))
                continue
            segment.invocations += 1
            sequence_numbers = [names.sequence_number(c["seq"]) for c in segment.changes]
            failed_at = stream_rules.first_failure(answer.payload, answer.function_error, sequence_numbers)
            if failed_at is None:
                self.delivered += len(segment.changes)
                await self.redis.set(ckpt_key, segment.changes[-1]["seq"])
                continue
            step = stream_rules.after_failure(segment, failed_at, mapping.max_retries, mapping.bisect)
            if step.checkpoint is not None:
                self.delivered += failed_at
                await self.redis.set(ckpt_key, step.checkpoint)
            if step.exhausted is not None:
                self.failed_batches += 1
                await self._record_failure(step.exhausted, answer, shard=shard, arn=arn)
                await self.redis.set(ckpt_key, step.exhausted.changes[-1]["seq"])
            else:
                await asyncio.sleep(stream_rules.retry_pause(step.retry[0].attempts))
            work[:0] = step.retry
        return True

    async def _record_failure(self, segment: Segment, answer: InvokeAnswer, *, shard: str, arn: str) -> None:
        mapping = self.mapping
        log.warning(
            "stream %s → %s: %d records failed after %d attempts",
            mapping.table,
            mapping.function,
            len(segment.changes),
            segment.attempts,
        )
        if mapping.on_failure_queue is None:
            return
        record = stream_rules.failure_record(
            request_id=str(uuid.uuid4()),
            function_arn=self.function_arn,
            segment=segment,
            shard=shard,
            stream_arn=arn,
            now_ms=int(time.time() * 1000),
            status_code=answer.status,
            function_error=answer.function_error,
        )
        sent = await self.queues.send(mapping.on_failure_queue, json.dumps(record))
        if sent is None:
            log.error(
                "stream %s → %s: no queue %s for the failed batch",
                mapping.table,
                mapping.function,
                mapping.on_failure_queue,
            )


def wanted_shards(mappings: set[StreamMapping], directory: TableDirectory) -> set[tuple[StreamMapping, int]]:
    """``(mapping, partition)`` for every shard of every mapped table that exists."""
    out = set()
    for mapping in mappings:
        description = directory.description(mapping.table)
        if description is not None:
            out |= {(mapping, p) for p in range(int(description.get("PartitionCount", 1)))}
    return out


async def run_stream_pollers(
    catalog: Catalog,
    directory: TableDirectory,
    redis: Redis,
    invoker: Invoker,
    *,
    client: PartitionClient | None = None,
    refresh_s: float = 1.0,
    pollers: dict[tuple[StreamMapping, int], ShardPoller] | None = None,
) -> None:
    """Run one poller per shard of every stream mapping of ``catalog``'s functions until cancelled."""
    client = client or PartitionClient()
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    running: dict[tuple[StreamMapping, int], tuple[ShardPoller, asyncio.Task[None]]] = {}
    try:
        while True:
            wanted = wanted_shards(stream_rules.stream_mappings(catalog.functions()), directory)
            for key in set(running) - wanted:
                _, task = running.pop(key)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            for key in wanted - set(running):
                mapping, partition = key
                poller = ShardPoller(
                    mapping,
                    partition,
                    directory,
                    client,
                    redis,
                    invoker,
                    region=catalog.region,
                    account_id=catalog.account_id,
                    owner=owner,
                )
                running[key] = (poller, asyncio.create_task(poller.run(), name=f"stream-poller-{mapping.table}"))
            if pollers is not None:
                pollers.clear()
                pollers.update({k: p for k, (p, _) in running.items()})
            await asyncio.sleep(refresh_s)
    finally:
        for _, task in running.values():
            task.cancel()
        await asyncio.gather(*(task for _, task in running.values()), return_exceptions=True)
        await client.close()


async def serve_stream_pollers(
    catalog: Catalog, directory: TableDirectory, redis_url: str, gateway_url: str, auth: Any
) -> None:
    """:func:`run_stream_pollers` with its own Redis client and a gateway invoker (``auth``: SigV4 for
    ``lambda``, None when the gateway checks none), closed when cancelled."""
    from redis.asyncio import Redis

    from kumo_gateway.sqs.poller import GatewayInvoker

    redis, invoker = Redis.from_url(redis_url), GatewayInvoker(gateway_url, auth)
    try:
        await run_stream_pollers(catalog, directory, redis, invoker)
    finally:
        await invoker.aclose()
        await redis.aclose()
