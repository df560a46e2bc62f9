"""Tables in local mode: one partition-server process per partition, supervised, state on disk.

Layout under ``<state-dir>/tables/<name>/``: ``table.json`` (the router-owned description, so
tables — from manifests or CreateTable — come back on the next ``kumo up``), ``p<i>/`` (partition
data) and ``p<i>.log``. A table removed from the manifests while ``kumo up`` runs moves to
``tables/.removed/<name>/`` (not served; adding its manifest back restores it with its data).
Partition processes (:mod:`kumo_gateway.local.partitions`) are restarted when they die and stopped on
shutdown; they also die with ``kumo up`` (parent-death signal), so none is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kumo.models.table import Table
from kumo_gateway.dynamodb import descriptions
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_gateway.local.partitions import PartitionProcess
from kumo_gateway.local.table_edits import key_schema_problem, manifest_update, wanted_description
from kumo_tablestore.errors import InternalServerError, ResourceInUseException, ResourceNotFoundException
from kumo_tablestore.partition_client import PartitionClient

log = logging.getLogger("kumo_gateway.local.tables")
logging.getLogger("httpx").setLevel(logging.WARNING)

#: Seconds between TTL sweeps in partition servers (``KUMO_TTL_INTERVAL`` overrides, e.g. for tests).
DEFAULT_TTL_INTERVAL_S = 1.0
_START_TIMEOUT_S = 30.0
_CONTROL_TIMEOUT_S = 10.0
_SUPERVISE_EVERY_S = 0.25
#: Folder under ``tables/`` keeping the data of tables removed from the manifests while running.
REMOVED = ".removed"


@dataclass
class LocalTable:
    description: dict[str, Any]
    directory: Path
    partitions: list[PartitionProcess] = field(default_factory=list)
    route: TableRoute | None = None

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / "table.json.tmp"
        tmp.write_text(json.dumps(self.description, indent=2, sort_keys=True))
        os.replace(tmp, self.directory / "table.json")

    def refresh_route(self) -> None:
        self.route = TableRoute.from_description(self.description, tuple(p.endpoint for p in self.partitions))


class LocalTables:
    """The local-mode :class:`~kumo_gateway.dynamodb.table_directory.TableDirectory`."""

    def __init__(
        self,
        state_dir: Path,
        manifests: Mapping[str, Table] | None = None,
        *,
        durability: str = "full",
        ttl_interval_s: float | None = None,
    ) -> None:
        self.root = state_dir / "tables"
        self.manifests = dict(manifests or {})
        self.durability = durability
        env_ttl = os.environ.get("KUMO_TTL_INTERVAL")
        self.ttl_interval_s = ttl_interval_s or (float(env_ttl) if env_ttl else DEFAULT_TTL_INTERVAL_S)
        self.tables: dict[str, LocalTable] = {}
        #: Control calls to the partitions (health, descriptions); the router has its own client.
        self.client = PartitionClient(connections_per_partition=1, timeout_s=_CONTROL_TIMEOUT_S)
        self._lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bring back persisted tables, add manifest tables, start every partition."""
        self.root.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.root.glob("*/table.json")):
            try:
                description = json.loads(path.read_text())
                self.tables[description["TableName"]] = LocalTable(description, path.parent)
            except (OSError, ValueError, KeyError) as exc:
                log.error("ignoring unreadable table description %s: %s", path, exc)
        for name, manifest in self.manifests.items():
            self._merge_manifest(name, manifest)
        try:
            await asyncio.gather(*(self._start_table(t) for t in self.tables.values()))
        except BaseException:
            await self.stop()
            raise
        self._supervisor = asyncio.create_task(self._supervise())

    def _merge_manifest(self, name: str, manifest: Table) -> None:
        wanted = wanted_description(name, manifest)
        existing = self.tables.get(name) or self._restore(name)
        if existing is None:
            table = LocalTable(wanted, self.root / name)
            table.save()
            self.tables[name] = table
            return
        problem = key_schema_problem(existing.description, wanted)
        if problem is not None:
            log.error("table %s: %s", name, problem)
            return
        self._warn_partitions(name, existing.description, manifest)
        existing.description = self._updated(name, existing.description, wanted)
        existing.save()

    @staticmethod
    def _updated(name: str, stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
        description, problems = manifest_update(stored, wanted)
        for problem in problems:
            log.error("table %s: %s", name, problem)
        return description

    @staticmethod
    def _warn_partitions(name: str, stored: dict[str, Any], manifest: Table) -> None:
        if stored.get("PartitionCount") != manifest.spec.partitions:
            log.warning(
                "table %s: keeping %s stored partitions (the manifest asks for %s; repartitioning is not supported)",
                name,
                stored.get("PartitionCount"),
                manifest.spec.partitions,
            )

    def _restore(self, name: str) -> LocalTable | None:
        """A table removed from the manifests earlier (its data under ``tables/.removed/<name>``), moved
        back and registered; None if there is none."""
        kept = self.root / REMOVED / name
        try:
            description = json.loads((kept / "table.json").read_text())
        except (OSError, ValueError):
            return None
        directory = self.root / name
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(kept, directory)
        table = LocalTable(description, directory)
        self.tables[name] = table
        log.info("table %s: its data is back from %s", name, kept)
        return table

    def stored_description(self, name: str) -> dict[str, Any] | None:
        """The description of ``name`` as served or kept from an earlier removal (None: new)."""
        table = self.tables.get(name)
        if table is not None:
            return table.description
        try:
            return json.loads((self.root / REMOVED / name / "table.json").read_text())
        except (OSError, ValueError):
            return None

    # ---- manifest edits while running (kumo_gateway.local.reload) -----------------------------

    async def add_manifest_table(self, name: str, manifest: Table) -> None:
        """A Table added to the manifests: its partitions started and served (its data back if it was
        removed earlier); a served table of that name gets the manifest's settings."""
        async with self._lock:
            served = name in self.tables
            self._merge_manifest(name, manifest)
            table = self.tables.get(name)
            if table is None:
                return
            if served:
                await self._put_description(table)
                return
            try:
                await self._start_table(table)
            except Exception as exc:
                del self.tables[name]
                await asyncio.gather(*(p.stop() for p in table.partitions))
                log.error("table %s: could not start its partitions: %s", name, exc)

    async def change_manifest_table(self, name: str, manifest: Table) -> None:
        """A Table's manifest changed (keys already checked equal): apply billing, throughput, TTL and GSIs."""
        async with self._lock:
            table = self.tables.get(name)
            if table is None:
                return
            self._warn_partitions(name, table.description, manifest)
            wanted = self._updated(name, table.description, wanted_description(name, manifest))
            if wanted != table.description:
                table.description = wanted
                await self._put_description(table)

    async def remove_manifest_table(self, name: str) -> None:
        """A Table removed from the manifests: no longer served, partitions stopped, data kept under
        ``tables/.removed/<name>`` (adding the manifest back brings it back)."""
        async with self._lock:
            table = self.tables.pop(name, None)
            if table is None:
                return
            table.route = None
            await asyncio.gather(*(p.stop() for p in table.partitions))
            kept = self.root / REMOVED / name
            kept.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.rmtree, kept, True)
            os.replace(table.directory, kept)
            log.info("table %s: no longer served; its data is kept in %s", name, kept)

    async def _put_description(self, table: LocalTable) -> None:
        await asyncio.gather(*(p.put_description(table.description) for p in table.partitions))
        table.save()
        table.refresh_route()

    async def _start_table(self, table: LocalTable) -> None:
        name = table.description["TableName"]
        count = int(table.description.get("PartitionCount", 1))
        table.partitions = [
            PartitionProcess(
                name, i, table.directory, self.client, durability=self.durability, ttl_interval_s=self.ttl_interval_s
            )
            for i in range(count)
        ]
        await asyncio.gather(*(p.start(table.description) for p in table.partitions))
        table.refresh_route()
        log.info("table %s: %d partition(s) up", name, count)

    async def _supervise(self) -> None:
        """Restart partition processes that died (same port, same data)."""
        while True:
            await asyncio.sleep(_SUPERVISE_EVERY_S)
            for table in list(self.tables.values()):
                for part in table.partitions:
                    if part.proc is not None and part.proc.returncode is not None and table.route is not None:
                        log.warning(
                            "table %s partition %d exited with %s; restarting",
                            part.table,
                            part.index,
                            part.proc.returncode,
                        )
                        part.restarts += 1
                        try:
                            await part.start(table.description)
                        except Exception as exc:  # keep supervising the others; retry next round
                            log.error("restarting %s/p%d failed: %s", part.table, part.index, exc)

    async def stop(self) -> None:
        async with self._lock:  # an edit in progress (a removal moving its data) finishes first
            await self._stop()

    async def _stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await asyncio.gather(*(p.stop() for t in self.tables.values() for p in t.partitions))
        await self.client.close()

    # ---- TableDirectory ----------------------------------------------------------------------

    def route(self, name: str) -> TableRoute | None:
        table = self.tables.get(name)
        return table.route if table is not None else None

    def description(self, name: str) -> dict[str, Any] | None:
        table = self.tables.get(name)
        return table.description if table is not None and table.route is not None else None

    def table_names(self) -> list[str]:
        return sorted(name for name, t in self.tables.items() if t.route is not None)

    async def create_table(self, request: dict[str, Any]) -> dict[str, Any]:
        description = descriptions.create_description(request, now=time.time())
        name = description["TableName"]
        async with self._lock:
            if name in self.tables:
                raise ResourceInUseException(f"Table already exists: {name}")
            directory = self.root / name
            shutil.rmtree(directory, ignore_errors=True)
            table = LocalTable(description, directory)
            self.tables[name] = table
            try:
                await self._start_table(table)
            except Exception as exc:
                del self.tables[name]
                await asyncio.gather(*(p.stop() for p in table.partitions))
                log.error("CreateTable %s: %s", name, exc)
                raise InternalServerError(f"could not start the partitions of table {name}") from None
            table.save()
        return description

    async def delete_table(self, name: str) -> dict[str, Any]:
        async with self._lock:
            table = self.tables.pop(name, None)
            if table is None:
                raise ResourceNotFoundException()
            table.route = None
            await asyncio.gather(*(p.stop() for p in table.partitions))
            await asyncio.to_thread(shutil.rmtree, table.directory, True)
        return table.description

    async def update_table(self, name: str, description: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            table = self.tables.get(name)
            if table is None:
                raise ResourceNotFoundException()
            await asyncio.gather(*(p.put_description(description) for p in table.partitions))
            table.description = description
            table.save()
            table.refresh_route()
        return description
