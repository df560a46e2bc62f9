"""The durable per-partition store: LMDB (see ``docs/tablestore.md`` for why), one directory each.

Sub-databases of one LMDB environment, all written in the same transaction:

- ``items``:   table key -> stored value: 8-byte expiry (0 = none) [+ 4-byte size] + compact item JSON
  (:func:`.records.encode_stored`)
- ``overflow``: keys longer than LMDB allows, as an order-preserving trie (:mod:`.long_keys`)
- ``expiry``:  8-byte expiry + table key -> b"" (the TTL sweeper's index; long keys: a locator -> key)
- ``changes``: 8-byte sequence number -> :meth:`ChangeRecord.encode`
- ``meta``:    name -> JSON (table description, TTL settings, slot map); internal names start with NUL

Reads run in short read transactions; range iterators re-open one per chunk, so an abandoned iterator
never pins old pages. Writes take the engine lock; the caller may use any thread.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

import lmdb

from kumo_tablestore.storage.integrity import check_integrity
from kumo_tablestore.storage.long_keys import SHORT_MAX, LongKeys
from kumo_tablestore.storage.ranges import live_rows, query_bounds, read_chunk
from kumo_tablestore.storage.records import (
    ChangeRecord,
    Item,
    WriteOp,
    encode_stored,
    load_item,
    stored_expiry,
    stored_item,
    stored_json,
)
from kumo_tablestore.ttl import is_expired

Durability = Literal["full", "normal", "off"]
Batch = tuple[Sequence[WriteOp], Sequence[ChangeRecord]]
TransactFn = Callable[[dict[bytes, Item | None]], Batch]
#: What :meth:`StorageEngine.transact_stored` passes: each key's stored item and expiry, or ``None``.
StoredFn = Callable[[dict[bytes, tuple[Item, int | None] | None]], Batch]

_U64 = 8
_SEQ_KEY = b"\x00last_seq"
_DEFAULT_MAP_SIZE = 1 << 30
_MAX_MAP_SIZE = 1 << 40


def _u64(n: int) -> bytes:
    return n.to_bytes(_U64, "big")


_exp = stored_expiry


class StorageEngine:
    """One partition's items, change log and metadata. Use :func:`open` to create."""

    def __init__(
        self, path: str | os.PathLike[str], *, durability: Durability = "full", map_size: int = _DEFAULT_MAP_SIZE
    ) -> None:
        if durability not in ("full", "normal", "off"):
            raise ValueError(f"durability must be full, normal or off, not {durability!r}")
        self.path = os.fspath(path)
        self.durability = durability
        os.makedirs(self.path, exist_ok=True)
        self._env = lmdb.open(
            self.path,
            map_size=map_size,
            max_dbs=16,
            sync=durability != "off",
            metasync=durability == "full",
            readahead=False,
            lock=True,
        )
        self._items = self._env.open_db(b"items")
        self._expiry = self._env.open_db(b"expiry")
        self._changes = self._env.open_db(b"changes")
        self._meta = self._env.open_db(b"meta")
        self._overflow = self._env.open_db(b"overflow")
        self._long = LongKeys(self._items, self._overflow, self._meta)
        self._lock = threading.RLock()
        #: Called in the write transaction with each batch's change records (secondary indexes).
        self.on_commit: Callable[[lmdb.Transaction, Sequence[ChangeRecord]], None] | None = None
        with self._env.begin(db=self._meta) as txn:
            raw = txn.get(_SEQ_KEY)
        self._last_seq = int.from_bytes(raw, "big") if raw else 0
        #: ``_last_seq`` as of the last committed write: readers on other threads never see a number
        #: whose record a write transaction has not committed yet.
        self._committed_seq = self._last_seq

    # ---- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._env.close()

    def __enter__(self) -> StorageEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def last_sequence(self) -> int:
        """Sequence number of the newest committed change-log record ever written (0: none)."""
        return self._committed_seq

    # ---- point reads -------------------------------------------------------------------------

    def get_raw(self, key: bytes, *, now: float | None = None, include_expired: bool = False) -> bytes | None:
        """Stored item JSON, or ``None`` if absent (or expired, unless ``include_expired``)."""
        with self._env.begin(db=self._items, buffers=True) as txn:
            value = txn.get(key) if len(key) <= SHORT_MAX else self._long.get(txn, key)
            if value is None:
                return None
            if not include_expired and is_expired(_exp(value), time.time() if now is None else now):
                return None
            return bytes(stored_json(value))

    def get_record(self, key: bytes) -> tuple[bytes, int | None] | None:
        """``(item JSON, stored size or None)`` of a live item, or ``None`` if absent or expired."""
        with self._env.begin(db=self._items, buffers=True) as txn:
            value = txn.get(key) if len(key) <= SHORT_MAX else self._long.get(txn, key)
            if value is None or is_expired(_exp(value), time.time()):
                return None
            return stored_item(value)

    def get(self, key: bytes, *, now: float | None = None, include_expired: bool = False) -> Item | None:
        raw = self.get_raw(key, now=now, include_expired=include_expired)
        return None if raw is None else load_item(raw)

    def get_many(self, keys: Iterable[bytes], *, now: float | None = None) -> dict[bytes, Item | None]:
        """Several items from one consistent snapshot."""
        now = time.time() if now is None else now
        with self._env.begin(db=self._items, buffers=True) as txn:
            return {k: self._load(self._value(txn, k), now, False) for k in keys}

    def _value(self, txn: lmdb.Transaction, key: bytes) -> bytes | memoryview | None:
        return txn.get(key, db=self._items) if len(key) <= SHORT_MAX else self._long.get(txn, key)

    @staticmethod
    def _load(value: memoryview | None, now: float, include_expired: bool) -> Item | None:
        if value is None or (not include_expired and is_expired(_exp(value), now)):
            return None
        return load_item(stored_json(value))

    # ---- writes ------------------------------------------------------------------------------

    def write(self, ops: Sequence[WriteOp], change_log: Sequence[ChangeRecord] = ()) -> list[int]:
        """Apply puts/deletes and append change-log records atomically; returns their sequence numbers."""
        return self.write_many([(ops, change_log)])[0]

    def write_many(self, batches: Sequence[Batch]) -> list[list[int]]:
        """Group commit: several independent batches in one transaction (one fsync)."""
        return self._in_write_txn(lambda txn: [self._apply(txn, ops, log) for ops, log in batches])

    def write_with_meta(
        self, ops: Sequence[WriteOp], change_log: Sequence[ChangeRecord], meta: dict[str, Any]
    ) -> list[int]:
        """:meth:`write` plus metadata puts (``None``: delete) in the same transaction (transactions)."""

        def body(txn: lmdb.Transaction) -> list[int]:
            seqs = self._apply(txn, ops, change_log)
            for name, value in meta.items():
                if value is None:
                    txn.delete(self._meta_key(name), db=self._meta)
                else:
                    txn.put(self._meta_key(name), json.dumps(value, separators=(",", ":")).encode(), db=self._meta)
            return seqs

        return self._in_write_txn(body)

    def meta_with_prefix(self, prefix: str, limit: int | None = None) -> list[tuple[str, Any]]:
        """``(name, value)`` of metadata whose name starts with ``prefix``, in name order (at most ``limit``)."""
        start = self._meta_key(prefix)
        out: list[tuple[str, Any]] = []
        with self._env.begin(db=self._meta) as txn:
            cur = txn.cursor()
            ok = cur.set_range(start)
            while ok and cur.key().startswith(start) and (limit is None or len(out) < limit):
                out.append((cur.key().decode(), json.loads(cur.value())))
                ok = cur.next()
        return out

    def transact(self, keys: Iterable[bytes], fn: TransactFn, *, now: float | None = None) -> list[int]:
        """Read-modify-write under the write lock in one transaction.

        ``fn`` gets the current items (``None`` when absent or expired) and returns ``(ops,
        change_log)`` to apply; if it raises (e.g. a failed condition), nothing is written.
        """
        keys = list(keys)

        def body(txn: lmdb.Transaction) -> list[int]:
            t = time.time() if now is None else now
            current = {k: self._load(self._value(txn, k), t, False) for k in keys}
            ops, log = fn(current)
            return self._apply(txn, ops, log)

        return self._in_write_txn(body)

    def transact_stored(self, keys: Iterable[bytes], fn: StoredFn) -> list[int]:
        """:meth:`transact` for the TTL sweeper: ``fn`` gets each stored item, expired or not, with its
        expiry second (``None``: never), read in the same write transaction it writes in."""
        keys = list(keys)

        def body(txn: lmdb.Transaction) -> list[int]:
            values = {k: self._value(txn, k) for k in keys}
            current = {
                k: None if v is None else (load_item(stored_json(v)), _exp(v) or None) for k, v in values.items()
            }
            ops, log = fn(current)
            return self._apply(txn, ops, log)

        return self._in_write_txn(body)

    def _in_write_txn(self, body: Callable[[lmdb.Transaction], Any]) -> Any:
        with self._lock:
            for _ in range(8):
                seq_before = self._last_seq
                try:
                    with self._env.begin(write=True, buffers=True) as txn:
                        result = body(txn)
                        if self._last_seq != seq_before:
                            txn.put(_SEQ_KEY, _u64(self._last_seq), db=self._meta)
                    self._committed_seq = self._last_seq  # committed: readers may see it now
                    return result
                except lmdb.MapFullError:
                    self._last_seq = seq_before
                    self._grow()
                except BaseException:
                    self._last_seq = seq_before
                    raise
            raise lmdb.MapFullError("storage map could not grow enough")

    def _grow(self) -> None:
        size = self._env.info()["map_size"]
        if size >= _MAX_MAP_SIZE:
            raise lmdb.MapFullError(f"partition store is at its maximum size ({size} bytes)")
        self._env.set_mapsize(min(size * 2, _MAX_MAP_SIZE))

    def _apply(self, txn: lmdb.Transaction, ops: Sequence[WriteOp], log: Sequence[ChangeRecord]) -> list[int]:
        for op in ops:
            if len(op.key) > SHORT_MAX:
                self._apply_long(txn, op)
                continue
            old = txn.get(op.key, db=self._items)
            if old is not None and (old_exp := _exp(old)):
                txn.delete(_u64(old_exp) + op.key, db=self._expiry)
            if op.item is None:
                if old is not None:
                    txn.delete(op.key, db=self._items)
                continue
            exp = op.expires_at or 0
            txn.put(op.key, encode_stored(op.item, exp, op.size), db=self._items)
            if exp:
                txn.put(_u64(exp) + op.key, b"", db=self._expiry)
        seqs = []
        stamp = time.time()
        for record in log:
            self._last_seq += 1
            record.seq = self._last_seq
            if record.timestamp is None:
                record.timestamp = stamp
            txn.put(_u64(record.seq), record.encode(), db=self._changes, append=True)
            seqs.append(record.seq)
        if log and self.on_commit is not None:
            self.on_commit(txn, log)
        return seqs

    def _apply_long(self, txn: lmdb.Transaction, op: WriteOp) -> None:
        exp = (op.expires_at or 0) if op.item is not None else 0
        if op.item is None:
            old, loc = self._long.delete(txn, op.key)
        else:
            old, loc = self._long.put(txn, op.key, encode_stored(op.item, exp, op.size))
        if old is not None and (old_exp := _exp(old)):
            txn.delete(_u64(old_exp) + loc, db=self._expiry)
        if exp:
            txn.put(_u64(exp) + loc, op.key, db=self._expiry)

    # ---- extra sub-databases (secondary indexes) ----------------------------------------------

    def sub_database(self, name: bytes) -> Any:
        """Open (creating) a named sub-database of this environment."""
        with self._lock:
            return self._env.open_db(name)

    def write_txn(self, body: Callable[[lmdb.Transaction], Any]) -> Any:
        """Run ``body(txn)`` in one write transaction under the engine lock (growing the map if needed)."""
        return self._in_write_txn(body)

    def read_txn(self) -> lmdb.Transaction:
        """A read transaction (use as a context manager)."""
        return self._env.begin()

    # ---- range reads ---------------------------------------------------------------------------

    def query(
        self,
        pk_prefix: bytes,
        lower: bytes | None = None,
        lower_inclusive: bool = True,
        upper: bytes | None = None,
        upper_inclusive: bool = True,
        forward: bool = True,
        exclusive_start: bytes | None = None,
        *,
        now: float | None = None,
        sized: bool = False,
    ) -> Iterator[Any]:
        """Items of one partition-key value, lazily, ordered by sort key.

        ``pk_prefix`` is :func:`keys.partition_prefix`; ``lower``/``upper`` are sort-key encodings
        (``None``: unbounded); ``exclusive_start`` is a full table key (``LastEvaluatedKey``).
        Yields ``(table_key, item_json)``, or ``(table_key, item_json, stored size or None)`` if ``sized``.
        """
        lo, lo_incl, hi, hi_incl = query_bounds(
            pk_prefix, lower, lower_inclusive, upper, upper_inclusive, forward, exclusive_start
        )
        return self._range(lo, lo_incl, hi, hi_incl, forward, now, sized)

    def scan(
        self, exclusive_start: bytes | None = None, *, now: float | None = None, sized: bool = False
    ) -> Iterator[Any]:
        """Every live item in key order, starting after ``exclusive_start`` (rows as in :meth:`query`)."""
        return self._range(exclusive_start, exclusive_start is None, None, False, True, now, sized)

    def _range(
        self,
        lo: bytes | None,
        lo_incl: bool,
        hi: bytes | None,
        hi_incl: bool,
        forward: bool,
        now: float | None,
        sized: bool = False,
    ) -> Iterator[Any]:
        return live_rows(self._chunk, lo, lo_incl, hi, hi_incl, forward, time.time() if now is None else now, sized)

    def _chunk(
        self,
        lo: bytes | None,
        lo_incl: bool,
        hi: bytes | None,
        hi_incl: bool,
        forward: bool,
        resume: bytes | None,
        n: int,
    ) -> list[tuple[bytes, bytes]]:
        with self._env.begin(db=self._items) as txn:
            return read_chunk(txn, self._long, lo, lo_incl, hi, hi_incl, forward, resume, n)

    # ---- TTL -----------------------------------------------------------------------------------

    def expired_keys(self, now: float, limit: int = 1000) -> list[bytes]:
        """Up to ``limit`` keys whose expiry has passed at ``now``, oldest expiry first."""
        out: list[bytes] = []
        with self._env.begin(db=self._expiry) as txn:
            for entry, full_key in txn.cursor():
                if len(out) >= limit or not is_expired(_exp(entry), now):
                    break
                out.append(full_key or entry[_U64:])  # long keys: the entry holds a locator
        return out

    # ---- change log ----------------------------------------------------------------------------

    def read_change_log(self, after_seq: int = 0, limit: int = 1000) -> list[ChangeRecord]:
        """Records with sequence number > ``after_seq``, oldest first."""
        out: list[ChangeRecord] = []
        with self._env.begin(db=self._changes) as txn:
            cur = txn.cursor()
            ok = cur.set_range(_u64(after_seq + 1))
            while ok and len(out) < limit:
                out.append(ChangeRecord.decode(cur.value()))
                ok = cur.next()
        return out

    def first_change_sequence(self) -> int | None:
        """Oldest retained sequence number (``None``: log empty) — for TRIM_HORIZON iterators."""
        with self._env.begin(db=self._changes) as txn:
            cur = txn.cursor()
            return int.from_bytes(cur.key(), "big") if cur.first() else None

    def trim_change_log(self, before_ts: float, limit: int = 100_000) -> int:
        """Delete records older than ``before_ts`` (epoch seconds); returns how many."""

        def body(txn: lmdb.Transaction) -> int:
            cur = txn.cursor(db=self._changes)
            n = 0
            while n < limit and cur.first() and ChangeRecord.stored_timestamp(cur.value()) < before_ts:
                cur.delete()
                n += 1
            return n

        return self._in_write_txn(body)

    # ---- metadata -------------------------------------------------------------------------------

    def get_meta(self, name: str, default: Any = None) -> Any:
        with self._env.begin(db=self._meta) as txn:
            raw = txn.get(self._meta_key(name))
        return default if raw is None else json.loads(raw)

    def set_meta(self, name: str, value: Any) -> None:
        data = json.dumps(value, separators=(",", ":")).encode()
        self._in_write_txn(lambda txn: txn.put(self._meta_key(name), data, db=self._meta))

    def delete_meta(self, name: str) -> None:
        self._in_write_txn(lambda txn: txn.delete(self._meta_key(name), db=self._meta))

    @staticmethod
    def _meta_key(name: str) -> bytes:
        if not name or name.startswith("\x00"):
            raise ValueError("metadata names must be non-empty and not start with NUL")
        return name.encode()

    # ---- housekeeping ----------------------------------------------------------------------------

    def count(self) -> int:
        """Stored items, including expired ones not yet swept."""
        with self._env.begin(db=self._items) as txn:
            return txn.stat(self._items)["entries"] + self._long.count_adjustment(txn)

    def size_bytes(self) -> int:
        """Approximate bytes of item data (keys + values), for ``TableSizeBytes``."""
        with self._env.begin(db=self._items) as txn:
            stats = [txn.stat(self._items), txn.stat(self._overflow)]
        return sum(s["psize"] * (s["leaf_pages"] + s["overflow_pages"]) for s in stats)

    def check_integrity(self) -> list[str]:
        """Walk every sub-database and cross-check the indexes; returns problems (empty: healthy)."""
        with self._env.begin() as txn:
            return check_integrity(
                txn,
                items=self._items,
                expiry=self._expiry,
                changes=self._changes,
                long=self._long,
                last_seq=self._last_seq,
            )


def open(
    path: str | os.PathLike[str], *, durability: Durability = "full", map_size: int = _DEFAULT_MAP_SIZE
) -> StorageEngine:
    """Open (creating if needed) the store in directory ``path``.

    ``durability``: ``"full"`` — an acknowledged write survives power loss (fsync per commit);
    ``"normal"`` — the last commits may be lost on power loss, never corrupted; ``"off"`` — no fsync
    (survives process crashes only). All modes survive the process being killed.
    """
    return StorageEngine(path, durability=durability, map_size=map_size)
