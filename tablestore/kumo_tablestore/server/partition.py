"""One partition's live state: the engine, the table description, the writer, throughput, TTL sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from kumo_tablestore import storage
from kumo_tablestore.errors import ResourceNotFoundException, ValidationException
from kumo_tablestore.indexes import feed as index_feed
from kumo_tablestore.indexes.definitions import parse_indexes
from kumo_tablestore.indexes.store import IndexStore
from kumo_tablestore.protocol import META_TABLE_DESCRIPTION
from kumo_tablestore.server import stream_reader
from kumo_tablestore.server.batching import GroupWriter
from kumo_tablestore.server.table_meta import TableMeta
from kumo_tablestore.server.throughput import Throughput
from kumo_tablestore.server.ttl_sweeper import run_sweeper
from kumo_tablestore.server.txn_state import TxnState
from kumo_tablestore.storage import StorageEngine, WriteOp, load_item

log = logging.getLogger(__name__)
_REINDEX_CHUNK = 500


class Partition:
    """Owns the engine of one partition of one table. Create, then ``await start()``."""

    def __init__(
        self,
        data_dir: Path,
        *,
        table: str | None = None,
        partition: int = 0,
        durability: storage.Durability = "full",
        ttl_interval_s: float = 1.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.table_name = table
        self.index = partition
        self.durability = durability
        self.ttl_interval_s = ttl_interval_s
        self.engine: StorageEngine = storage.open(self.data_dir, durability=durability)
        self.meta: TableMeta | None = None
        stored = self.engine.get_meta(META_TABLE_DESCRIPTION)
        if stored is not None:
            self.meta = TableMeta.from_description(stored)
            if table is not None and self.meta.name != table:
                self.engine.close()
                raise ValueError(f"{self.data_dir} holds table {self.meta.name!r}, not {table!r}")
        self.indexes = IndexStore(self)
        self.indexes.bind()  # opens its sub-database now: never inside a write transaction
        self.writer = GroupWriter(self.engine)
        self.txns = TxnState(lambda: self.engine)  # transactions: locks and prepared changes (txn_state.py)
        self.txns.guard(self.writer)
        self.throughput = Throughput(self.meta)
        self._sweep_stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._trimmer: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self.writer.start()
        self._start_sweeper()
        self._trimmer = asyncio.create_task(stream_reader.run_trimmer(self), name="change-log-trim")

    async def close(self) -> None:
        if self._trimmer is not None:
            self._trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._trimmer
        await self.writer.stop()
        self._stop_sweeper()
        self.engine.close()

    def _start_sweeper(self) -> None:
        self._sweep_stop = threading.Event()
        self._sweeper = threading.Thread(
            target=run_sweeper,
            args=(self.engine, self._key_of, self._sweep_stop, self.ttl_interval_s),
            kwargs={"locked": self._txn_locked},
            name="kumo-ttl-sweeper",
            daemon=True,
        )
        self._sweeper.start()

    def _stop_sweeper(self) -> None:
        self._sweep_stop.set()
        if self._sweeper is not None:
            self._sweeper.join()
            self._sweeper = None

    def _txn_locked(self, key: bytes) -> bool:
        """Whether a transaction holds ``key`` (the TTL sweeper leaves it, as a single-item write would)."""
        return self.txns.locks.blocks_write((key,))

    def _key_of(self, key: bytes) -> dict[str, Any]:
        meta = self.meta
        return meta.decode_key(key) if meta is not None else {}

    # ---- table description -------------------------------------------------------------------------

    def require_meta(self) -> TableMeta:
        if self.meta is None:
            raise ResourceNotFoundException()
        return self.meta

    @property
    def name(self) -> str | None:
        return self.meta.name if self.meta is not None else self.table_name

    async def set_description(self, desc: Any) -> dict[str, Any]:
        """Store the router's description (idempotent); re-index TTL expiries when the attribute changed."""
        meta = TableMeta.from_description(desc)
        old = self.meta
        if old is not None and (old.pk, old.pk_type, old.sk, old.sk_type) != (
            meta.pk,
            meta.pk_type,
            meta.sk,
            meta.sk_type,
        ):
            raise ValidationException("The key schema of an existing table cannot change")
        if self.table_name is not None and meta.name != self.table_name:
            raise ValidationException(f"This partition serves table {self.table_name}, not {meta.name}")

        old_indexes = parse_indexes(old.description, old.key_names) if old is not None else {}
        new_indexes = parse_indexes(desc, meta.key_names)

        def store() -> None:
            self.engine.set_meta(META_TABLE_DESCRIPTION, desc)
            if old is not None and old.ttl_attribute != meta.ttl_attribute:
                self._reindex_expiry(meta)
            self.meta = meta  # LSIs are maintained from the next write on
            index_feed.sync_states(self, old_indexes, new_indexes)

        await self.writer.exclusive(store)
        self.meta = meta
        self.throughput.configure(meta)
        return desc

    def _reindex_expiry(self, meta: TableMeta) -> None:
        """Recompute every item's TTL expiry (UpdateTimeToLive enabled/disabled or renamed)."""
        start: bytes | None = None
        while True:
            chunk = [k for k, _ in _take(self.engine.scan(start), _REINDEX_CHUNK)]
            if not chunk:
                return
            start = chunk[-1]

            def rewrite(current: dict[bytes, Any]) -> tuple[list[WriteOp], list[Any]]:
                now = time.time()
                ops = [WriteOp.put(k, item, meta.expiry(item, now)) for k, item in current.items() if item]
                return ops, []

            self.engine.transact(chunk, rewrite)

    async def delete_table(self) -> None:
        """DeleteTable: wipe the items, change log and description."""
        self.require_meta()

        def wipe() -> None:
            self._stop_sweeper()
            self.engine.close()
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.engine = storage.open(self.data_dir, durability=self.durability)
            self.indexes.bind()
            self.writer.engine = self.engine
            self.txns.reload()
            self.meta = None
            self._start_sweeper()

        await self.writer.exclusive(wipe)
        self.throughput.configure(None)

    # ---- reads -------------------------------------------------------------------------------------

    def get_item(self, key: bytes) -> dict[str, Any] | None:
        raw = self.engine.get_raw(key)
        return None if raw is None else load_item(raw)


def _take(iterator: Any, n: int) -> list[Any]:
    out = []
    for row in iterator:
        out.append(row)
        if len(out) >= n:
            break
    return out
