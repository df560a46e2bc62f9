"""Index entries in the partition's own LMDB environment: one ``indexes`` sub-database for every index.

- LSI entries are written by :meth:`IndexStore.on_commit`, inside the item write's transaction (the
  engine calls it with the batch's change records), so an LSI is always consistent with its table.
- GSI entries arrive from the base partitions' change logs (:mod:`.feed`) through
  :meth:`IndexStore.apply_gsi`: in one transaction the entries and, per (source partition, index),
  the highest change sequence applied. Applying is idempotent: older or repeated operations are
  skipped, so a feed that is resent after a crash changes nothing twice.

Bookkeeping keys start with ``00`` (index names never do): ``00 "applied" 00 name 00 source``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import lmdb

from kumo_tablestore import keys, wire_json
from kumo_tablestore.indexes.definitions import IndexDef, parse_indexes
from kumo_tablestore.storage import ChangeRecord

_DB = b"indexes"
_APPLIED = b"\x00applied\x00"
_CHUNK = 64
#: One GSI operation: ``(seq, entry key, projected item or None to delete)``; seq 0 = backfill.
Op = tuple[int, bytes, Any]


def applied_key(name: str, source: int) -> bytes:
    return _APPLIED + name.encode() + b"\x00" + source.to_bytes(4, "big")


def entry_ops(index: IndexDef, base_key: bytes, old: Any, new: Any) -> list[tuple[bytes, Any]]:
    """``(entry key, projected item | None)`` changes one item write makes to one index."""
    old_key = index.entry_key(old, base_key) if old else None
    new_key = index.entry_key(new, base_key) if new else None
    out: list[tuple[bytes, Any]] = []
    if old_key is not None and old_key != new_key:
        out.append((old_key, None))
    if new_key is not None:
        out.append((new_key, index.project(new)))
    return out


class IndexStore:
    """The index entries of one partition (``part``: its engine and meta are read on every call)."""

    def __init__(self, part: Any) -> None:
        self.part = part
        self._db: Any = None
        self._db_engine: Any = None
        self._defs: dict[str, IndexDef] = {}
        self._defs_of: Any = None

    # ---- definitions ---------------------------------------------------------------------------

    def definitions(self) -> dict[str, IndexDef]:
        meta = self.part.meta
        if meta is None:
            return {}
        if self._defs_of is not meta.description:
            self._defs = parse_indexes(meta.description, meta.key_names)
            self._defs_of = meta.description
        return self._defs

    def bind(self) -> None:
        """Attach to the partition's (new) engine: open the sub-database, hook LSI maintenance."""
        engine = self.part.engine
        self._db = engine.sub_database(_DB)
        self._db_engine = engine
        engine.on_commit = self.on_commit

    @property
    def db(self) -> Any:
        if self._db_engine is not self.part.engine:
            raise RuntimeError("IndexStore.bind() was not called after the engine changed")
        return self._db

    def base_key(self, record_keys: dict[str, Any]) -> bytes:
        meta = self.part.require_meta()
        return keys.encode_key(record_keys, meta.pk, meta.sk)

    # ---- LSIs: in the item's transaction ---------------------------------------------------------

    def on_commit(self, txn: lmdb.Transaction, records: Sequence[ChangeRecord]) -> None:
        local = [d for d in self.definitions().values() if d.kind == "LSI"]
        if not local:
            return
        db = self.db
        for record in records:
            base = self.base_key(record.keys)
            for index in local:
                for key, value in entry_ops(index, base, record.old_image, record.new_image):
                    if value is None:
                        txn.delete(key, db=db)
                    else:
                        txn.put(key, wire_json.dumps(value), db=db)

    # ---- GSIs: from the change logs ----------------------------------------------------------------

    def apply_gsi(self, source: int, feeds: dict[str, dict[str, Any]]) -> list[str]:
        """Apply one source partition's operations per index; returns the indexes applied.

        ``feeds[name] = {"upto": seq, "ops": [(seq, key, value)...]}``. Indexes this partition does
        not know (yet, or any more) are left out, so the feeder retries them.
        """
        defs = self.definitions()
        names = [n for n in feeds if n in defs and defs[n].kind == "GSI"]
        if not names:
            return []
        db = self.db

        def body(txn: lmdb.Transaction) -> None:
            for name in names:
                feed = feeds[name]
                marker = applied_key(name, source)
                raw = txn.get(marker, db=db)
                applied = int.from_bytes(raw, "big") if raw else 0
                for seq, key, value in feed["ops"]:
                    if (seq == 0 and applied != 0) or (seq != 0 and seq <= applied):
                        continue  # a backfill after the log started, or already applied
                    if value is None:
                        txn.delete(key, db=db)
                    else:
                        txn.put(key, wire_json.dumps(value), db=db)
                upto = int(feed.get("upto", 0))
                if upto > applied:
                    txn.put(marker, upto.to_bytes(8, "big"), db=db)

        self.part.engine.write_txn(body)
        return names

    def applied(self, name: str, source: int) -> int:
        with self.part.engine.read_txn() as txn:
            raw = txn.get(applied_key(name, source), db=self.db)
        return int.from_bytes(raw, "big") if raw else 0

    # ---- removal and statistics ----------------------------------------------------------------------

    def purge(self, name: str) -> None:
        """Delete every entry and marker of one index."""
        db = self.db
        for prefix in (name.encode() + b"\x00", _APPLIED + name.encode() + b"\x00"):

            def body(txn: lmdb.Transaction, prefix: bytes = prefix) -> int:
                cur = txn.cursor(db=db)
                n = 0
                ok = cur.set_range(prefix)
                while ok and n < 10_000 and cur.key().startswith(prefix):
                    ok = cur.delete()
                    n += 1
                return n

            while self.part.engine.write_txn(body) >= 10_000:
                pass

    def stats(self, name: str) -> tuple[int, int]:
        """``(entries, bytes of keys and values)`` of one index in this partition."""
        prefix = name.encode() + b"\x00"
        count = size = 0
        with self.part.engine.read_txn() as txn:
            cur = txn.cursor(db=self.db)
            ok = cur.set_range(prefix)
            while ok:
                key = cur.key()
                if not key.startswith(prefix):
                    break
                count += 1
                size += len(key) - len(prefix) + len(cur.value())
                ok = cur.next()
        return count, size

    # ---- range reads -------------------------------------------------------------------------------

    def rows(
        self,
        lo: bytes,
        hi: bytes | None,
        forward: bool = True,
        exclusive_start: bytes | None = None,
        chunk: int = _CHUNK,
    ) -> Iterator[tuple[bytes, bytes]]:
        """Entries with ``lo <= key < hi`` (``hi`` None: up to the end of the index's prefix), lazily.

        Each chunk runs in its own short read transaction; ``exclusive_start`` resumes after
        (forward) or before (backward) that entry key.
        """
        resume = exclusive_start
        size = max(1, chunk)
        while True:
            rows = self._chunk(lo, hi, forward, resume, size)
            yield from rows
            if len(rows) < size:
                return
            resume = rows[-1][0]
            size = _CHUNK

    def _chunk(
        self, lo: bytes, hi: bytes | None, forward: bool, resume: bytes | None, size: int
    ) -> list[tuple[bytes, bytes]]:
        out: list[tuple[bytes, bytes]] = []
        with self.part.engine.read_txn() as txn:
            cur = txn.cursor(db=self.db)
            if forward:
                ok = cur.set_range(resume if resume is not None and resume > lo else lo)
                if ok and resume is not None and cur.key() == resume:
                    ok = cur.next()
                while ok and len(out) < size:
                    key = cur.key()
                    if (hi is not None and key >= hi) or key < lo:
                        break
                    out.append((key, cur.value()))
                    ok = cur.next()
                return out
            start = resume if resume is not None and (hi is None or resume < hi) else hi
            if start is None:
                ok = cur.last()
            else:
                ok = cur.set_range(start)
                ok = cur.prev() if ok else cur.last()
            while ok and len(out) < size:
                key = cur.key()
                if key < lo:
                    break
                if (hi is None or key < hi) and (resume is None or key < resume):
                    out.append((key, cur.value()))
                ok = cur.prev()
            return out
