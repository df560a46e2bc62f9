"""The GSI feeder: moves each base partition's index operations to the partitions that own the entries.

One task per (table with GSIs, partition): long-poll ``POST /index/feed`` on the base partition,
``POST /index/apply`` the operations to their target partitions, then ``POST /index/ack`` on the
base partition. A crash or an unreachable partition anywhere only delays this: what was not
acknowledged is fed again, and targets skip what they already applied (per source partition and
index they keep the last sequence applied, in the same transaction as the entries). Several
gateways may feed the same table at once; the result is the same.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kumo_gateway.dynamodb import index_descriptions
from kumo_gateway.dynamodb.partition_choice import owned_partitions
from kumo_gateway.dynamodb.table_directory import TableDirectory
from kumo_tablestore import protocol, wire_json
from kumo_tablestore.partition_client import PartitionClient, PartitionUnavailable

log = logging.getLogger("kumo.gateway.indexes")
RECONCILE_S = 0.5
WAIT_S = 0.5
RETRY_S = 0.2
LIMIT = 500


class IndexFeeder:
    """Feeds every GSI of every table in ``directory``. ``start()`` in the gateway's loop, ``stop()`` after."""

    def __init__(self, directory: TableDirectory, client: PartitionClient | None = None) -> None:
        self.directory = directory
        # Its own connections: a long poll must never hold up client reads pipelined behind it.
        self.client = client or PartitionClient(connections_per_partition=1)
        self._workers: dict[tuple[str, int], tuple[tuple[str, ...], asyncio.Task[None]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._reconcile(), name="kumo-index-feeder")

    async def stop(self) -> None:
        tasks = [t for _, t in self._workers.values()] + ([self._task] if self._task else [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._task = None
        await self.client.close()

    async def _reconcile(self) -> None:
        while True:
            try:
                self.sync()
            except Exception:
                log.exception("index feeder: reconcile failed")
            await asyncio.sleep(RECONCILE_S)

    def sync(self) -> None:
        """Start a worker per (table with GSIs, partition); stop the ones no longer needed."""
        wanted: dict[tuple[str, int], tuple[str, ...]] = {}
        for name in self.directory.table_names():
            description = self.directory.description(name)
            route = self.directory.route(name)
            if not description or route is None or not description.get(index_descriptions.GSI_FIELD):
                continue
            for p in owned_partitions(route):
                wanted[(name, p)] = route.endpoints
        for key in list(self._workers):
            endpoints, task = self._workers[key]
            if wanted.get(key) != endpoints or task.done():
                task.cancel()
                del self._workers[key]
        for key, endpoints in wanted.items():
            if key not in self._workers:
                task = asyncio.get_running_loop().create_task(self._work(key[1], endpoints))
                self._workers[key] = (endpoints, task)

    async def _work(self, source: int, endpoints: tuple[str, ...]) -> None:
        while True:
            try:
                if not await self.step(source, endpoints):
                    await asyncio.sleep(RETRY_S)
            except asyncio.CancelledError:
                raise
            except PartitionUnavailable:
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("index feeder: partition %s", endpoints[source])
                await asyncio.sleep(RETRY_S)

    async def _call(self, endpoint: str, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
        status, raw = await self.client.request("POST", endpoint + protocol.INDEX_PREFIX + name, wire_json.dumps(body))
        return wire_json.loads(raw) if status == 200 else None

    async def step(self, source: int, endpoints: tuple[str, ...], wait_s: float = WAIT_S) -> bool:
        """One feed → apply → acknowledge round for one base partition; False when it could not finish."""
        answer = await self._call(endpoints[source], "feed", {"wait": wait_s, "limit": LIMIT})
        if answer is None:
            return False
        feeds: dict[str, Any] = answer.get("indexes") or {}
        by_target: dict[int, dict[str, Any]] = {}
        for name, feed in feeds.items():
            for target, ops in feed["ops"].items():
                by_target.setdefault(int(target), {})[name] = {"upto": feed["upto"], "ops": ops}
        failed: set[str] = set()

        async def apply(target: int, indexes: dict[str, Any]) -> None:
            try:
                result = await self._call(endpoints[target], "apply", {"source": source, "indexes": indexes})
            except PartitionUnavailable:
                result = None
            applied = set(result.get("applied", ())) if result else set()
            failed.update(n for n in indexes if n not in applied)

        await asyncio.gather(*(apply(t, ix) for t, ix in by_target.items()))
        acks = {
            name: {"upto": feed["upto"], "scan": feed["scan"]}
            for name, feed in feeds.items()
            if name not in failed and (feed["upto"] != feed["cursor"] or feed["scan"] != feed["from_scan"])
        }
        if acks and await self._call(endpoints[source], "ack", {"indexes": acks}) is None:
            return False
        return not failed
