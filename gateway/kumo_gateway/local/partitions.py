"""One partition-server process (``kumo partition``) of one local table: spawned on a fixed port (kept
across restarts), health-checked, handed its table description, stopped. Supervised by
:class:`kumo_gateway.local.tables.LocalTables`; it dies with ``kumo up`` (parent-death signal)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from kumo.parent_death import die_with_parent
from kumo_gateway.dynamodb import descriptions
from kumo_tablestore.errors import InternalServerError
from kumo_tablestore.partition_client import PartitionClient, PartitionRefused, PartitionUnavailable

_START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
                preexec_fn=die_with_parent(),
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
