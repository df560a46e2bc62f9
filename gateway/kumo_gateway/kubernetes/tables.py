"""The cluster :class:`~kumo_gateway.dynamodb.table_directory.TableDirectory`: tables from watched Table resources.

``KubernetesTables`` lists and watches the Table resources of one namespace and keeps, per table,
the description computed from its spec (:mod:`kumo_gateway.kubernetes.table_descriptions`) and the
endpoints of its StatefulSet pods. A sync loop hands the description to every partition once it
answers ``/healthz`` (``PUT /table``, only when what the partition holds differs: idempotent, and
every gateway replica computes the same description), and re-checks every ``resync_interval_s`` so a
pod with a fresh volume gets it again. A table is ACTIVE (routable) once all its partitions hold the
description; before that DescribeTable says ``CREATING`` and item operations get
``ResourceNotFoundException``, as in DynamoDB. Create/Delete/Update operations are refused with
errors that point at the Table manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import Configuration

from kumo.kube.client import KubeClient, collection_path
from kumo.kube.config import load_configuration
from kumo_gateway.dynamodb import descriptions
from kumo_gateway.dynamodb.json_protocol import require_table_name
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_gateway.kubernetes import table_descriptions
from kumo_gateway.kubernetes.table_descriptions import HOST_TEMPLATE, EndpointTemplate, InvalidTable
from kumo_tablestore.errors import ResourceNotFoundException
from kumo_tablestore.partition_client import PartitionClient, PartitionRefused

log = logging.getLogger("kumo.gateway.tables")

_RETRY_S = 0.25
_PARTITION_TIMEOUT_S = 5.0


@dataclass
class ClusterTable:
    """One Table resource as the gateway serves it."""

    name: str
    wanted: dict[str, Any]
    #: What the partitions hold (the manifest applied to the stored identity); None until synced.
    description: dict[str, Any] | None = None
    route: TableRoute | None = None
    warnings: list[str] = field(default_factory=list)
    #: The last sync failure, logged once per change.
    last_error: str = ""


class KubernetesTables:
    """Tables of one namespace's Table resources. ``await start()`` in the gateway's loop, ``await stop()``."""

    def __init__(
        self,
        namespace: str,
        *,
        configuration: Configuration | None = None,
        endpoint_template: EndpointTemplate = HOST_TEMPLATE,
        resync_interval_s: float = 10.0,
    ) -> None:
        self.namespace = namespace
        self.configuration = configuration
        self.endpoint_template = endpoint_template
        self.resync_interval_s = resync_interval_s
        self.tables: dict[str, ClusterTable] = {}
        self._kube: KubeClient | None = None
        self._partitions: PartitionClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._listed = asyncio.Event()

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and start watching; tables become ACTIVE in the background as partitions answer."""
        c = self.configuration or await asyncio.to_thread(load_configuration)
        self.configuration = c
        self._kube = KubeClient(c)
        self._partitions = PartitionClient(connections_per_partition=1, timeout_s=_PARTITION_TIMEOUT_S)
        self._wake = asyncio.Event()
        self._listed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._watch_loop(), name="kumo-tables-watch"),
            asyncio.create_task(self._sync_loop(), name="kumo-tables-sync"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._kube is not None:
            await self._kube.aclose()
        if self._partitions is not None:
            await self._partitions.close()
        self._kube = self._partitions = None

    async def wait_active(self, names: list[str], timeout_s: float) -> None:
        """Wait (bounded) until every table in ``names`` is ACTIVE; raises ``TimeoutError``."""
        async with asyncio.timeout(timeout_s):
            await self._listed.wait()
            while not all(self.route(n) is not None for n in names):
                await asyncio.sleep(0.05)

    # ---- TableDirectory ----------------------------------------------------------------------

    def route(self, name: str) -> TableRoute | None:
        table = self.tables.get(name)
        return table.route if table is not None else None

    def description(self, name: str) -> dict[str, Any] | None:
        table = self.tables.get(name)
        if table is None:
            return None
        if table.route is None or table.description is None:
            return {**table.wanted, "TableStatus": "CREATING"}
        return table.description

    def table_names(self) -> list[str]:
        return sorted(self.tables)

    async def create_table(self, request: dict[str, Any]) -> dict[str, Any]:
        name = require_table_name(request)
        raise table_descriptions.create_refused(name, name in self.tables)

    async def delete_table(self, name: str) -> dict[str, Any]:
        if name not in self.tables:
            raise ResourceNotFoundException()
        raise table_descriptions.delete_refused(name)

    async def update_table(self, name: str, description: dict[str, Any]) -> dict[str, Any]:
        current = self.description(name)
        if current is None:
            raise ResourceNotFoundException()
        raise table_descriptions.update_refused(name, current, description)

    # ---- watching Table resources ------------------------------------------------------------

    def _apply(self, obj: dict[str, Any]) -> None:
        name = (obj.get("metadata") or {}).get("name")
        if not isinstance(name, str):
            return
        try:
            wanted = table_descriptions.table_description(obj)
        except InvalidTable as exc:
            log.warning("%s; not serving it", exc)
            self.tables.pop(name, None)
            return
        table = self.tables.get(name)
        if table is None:
            self.tables[name] = ClusterTable(name, wanted)
        elif table.wanted != wanted:
            table.wanted = wanted
        else:
            return
        self._wake.set()

    def _remove(self, name: str) -> None:
        if self.tables.pop(name, None) is not None:
            log.info("table %s: Table resource deleted", name)

    def _reset(self, items: list[dict[str, Any]]) -> None:
        for obj in items:
            self._apply(obj)
        present = {(o.get("metadata") or {}).get("name") for o in items}
        for name in [n for n in self.tables if n not in present]:
            self._remove(name)

    def _on_event(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == "DELETED":
            self._remove((obj.get("metadata") or {}).get("name", ""))
        else:
            self._apply(obj)

    async def _watch_loop(self) -> None:
        """List and watch the namespace's Table resources (relists on 410 Gone or failures) until cancelled."""
        assert self._kube is not None
        path = collection_path("Table", self.namespace)
        await self._kube.list_and_watch(path, self._reset, self._on_event, synced=self._listed)

    # ---- handing descriptions to partitions --------------------------------------------------

    async def _sync_loop(self) -> None:
        while True:
            self._wake.clear()
            tables = list(self.tables.values())
            results = await asyncio.gather(*(self._sync(t) for t in tables), return_exceptions=True)
            for table, result in zip(tables, results, strict=True):
                error = f"{type(result).__name__}: {result}" if isinstance(result, BaseException) else ""
                if error and error != table.last_error:
                    log.info("table %s: partitions not ready yet: %s", table.name, error)
                table.last_error = error
            pending = any(r is not True for r in results)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _RETRY_S if pending else self.resync_interval_s)

    def _endpoints(self, name: str, count: int) -> tuple[str, ...]:
        return table_descriptions.partition_endpoints(name, self.namespace, count, self.endpoint_template)

    async def _stored(self, endpoint: str, index: int) -> dict[str, Any] | None:
        """What partition ``index`` holds (None: no description yet); raises when it is not serving."""
        assert self._partitions is not None
        reported = (await self._partitions.health(endpoint)).get("partition")
        if reported != index:
            raise RuntimeError(f"{endpoint} serves partition {reported}, not {index}")
        return await self._partitions.stored_description(endpoint)

    async def _sync(self, table: ClusterTable) -> bool:
        """Bring every partition of ``table`` to its description; True once all hold it."""
        assert self._partitions is not None
        wanted = table.wanted
        endpoints = self._endpoints(table.name, table_descriptions.partition_count(wanted))
        held = list(await asyncio.gather(*(self._stored(e, i) for i, e in enumerate(endpoints))))
        stored = next((d for d in held if d is not None), None)
        description, warnings = table_descriptions.merge_stored(wanted, stored)
        count = table_descriptions.partition_count(description)
        if count != len(endpoints):
            endpoints = self._endpoints(table.name, count)
            held = list(await asyncio.gather(*(self._stored(e, i) for i, e in enumerate(endpoints))))
        if warnings != table.warnings:
            for warning in warnings:
                log.warning("%s", warning)
            table.warnings = warnings
        for index, (endpoint, current) in enumerate(zip(endpoints, held, strict=True)):
            body = descriptions.partition_description(description, index)
            if current != body:
                try:
                    await self._partitions.put_description(endpoint, body)
                except PartitionRefused as exc:
                    raise RuntimeError(f"partition {index} refused the description: {exc}") from None
                log.info("table %s: partition %d has its description", table.name, index)
        if self.tables.get(table.name) is table and table.wanted is wanted:
            table.description = description
            if table.route is None:
                log.info("table %s: ACTIVE, %d partition(s)", table.name, count)
            table.route = TableRoute.from_description(description, endpoints)
        return True
