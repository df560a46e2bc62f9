"""Tables in local mode: one partition-server process per partition, supervised, state on disk.

Layout under ``<state-dir>/tables/<name>/``: ``table.json`` (the router-owned description, so
tables — from manifests or CreateTable — come back on the next ``kumo up``), ``p<i>/`` (partition
data) and ``p<i>.log``. Partition processes are restarted when they die and stopped on shutdown;
they also die with ``kumo up`` (parent-death signal), so none is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kumo.models.table import Table
from kumo_gateway.dynamodb import descriptions
from kumo_gateway.dynamodb.table_directory import TableRoute
from kumo_tablestore.errors import InternalServerError, ResourceInUseException, ResourceNotFoundException
from kumo_tablestore.partition_client import PartitionClient, PartitionRefused, PartitionUnavailable

log = logging.getLogger("kumo_gateway.local.tables")
logging.getLogger("httpx").setLevel(logging.WARNING)

#: Seconds between TTL sweeps in partition servers (``KUMO_TTL_INTERVAL`` overrides, e.g. for tests).
DEFAULT_TTL_INTERVAL_S = 1.0
_START_TIMEOUT_S = 30.0
_CONTROL_TIMEOUT_S = 10.0
_SUPERVISE_EVERY_S = 0.25


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class PartitionProcess:
    """``kumo partition`` for one partition of one table, on a fixed port (kept across restarts)."""

    def __init__(
        self,
        table: str,
        index: int,
        table_dir: Path,
        client: PartitionClient,
        *,
        durability: str,
        ttl_interval_s: float,
    ) -> None:
        self.table = table
        self.client = client
        self.index = index
        self.data_dir = table_dir / f"p{index}"
        self.log_path = table_dir / f"p{index}.log"
        self.durability = durability
        self.ttl_interval_s = ttl_interval_s
        self.port = _free_port()
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "kumo_cli",
            "partition",
            "--data-dir",
            str(self.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--table",
            self.table,
            "--partition",
            str(self.index),
            "--durability",
            self.durability,
            "--ttl-interval",
            str(self.ttl_interval_s),
        ]

    async def start(self, description: dict[str, Any]) -> None:
        """Spawn, wait until healthy, then hand it the table description."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"partition {self.table}/p{self.index} exited; see {self.log_path}")
            try:
                await self.client.health(self.endpoint)
                break
            except PartitionUnavailable:
                pass
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError(f"partition {self.table}/p{self.index} did not start; see {self.log_path}")
            await asyncio.sleep(0.05)
        body = descriptions.partition_description(description, self.index)
        try:
            await self.client.put_description(self.endpoint, body)
        except (PartitionRefused, PartitionUnavailable) as exc:
            raise RuntimeError(f"partition {self.table}/p{self.index} refused its description: {exc}") from None

    async def put_description(self, description: dict[str, Any]) -> None:
        try:
            await self.client.put_description(
                self.endpoint, descriptions.partition_description(description, self.index)
            )
        except (PartitionRefused, PartitionUnavailable):
            raise InternalServerError(f"partition {self.index} refused the table description") from None

    async def stop(self, timeout_s: float = 5.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


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
        spec = manifest.spec
        wanted = descriptions.create_description(
            descriptions.manifest_request(name, spec), now=time.time(), partitions=spec.partitions
        )
        wanted = descriptions.with_ttl_attribute(wanted, spec.ttl_attribute)
        existing = self.tables.get(name)
        if existing is None:
            table = LocalTable(wanted, self.root / name)
            table.save()
            self.tables[name] = table
            return
        old = existing.description
        if (old["KeySchema"], old["AttributeDefinitions"]) != (wanted["KeySchema"], wanted["AttributeDefinitions"]):
            log.error("table %s: the manifest's keys differ from the stored table's; keeping the stored table", name)
            return
        if old.get("PartitionCount") != spec.partitions:
            log.warning(
                "table %s: keeping %s stored partitions (the manifest asks for %s; repartitioning is not supported)",
                name,
                old.get("PartitionCount"),
                spec.partitions,
            )
        for key in ("BillingModeSummary", "ProvisionedThroughput", "TimeToLiveDescription"):
            old[key] = wanted[key]
        existing.save()

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
