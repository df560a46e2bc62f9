"""In-memory item locks of a partition's transactions: write locks (prepared transactions, rebuilt from
their durable records at start) and short read locks (TransactGetItems, with a lease)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable


class LockTable:
    """Thread-safe: the event loop takes read locks, the writer thread checks write conflicts."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._writers: dict[bytes, str] = {}
        self._readers: dict[bytes, dict[str, float]] = {}

    def try_write(self, keys: Iterable[bytes], txid: str, now: float | None = None) -> set[bytes]:
        """Write-lock every key for ``txid``, or none: returns the conflicting keys (empty: locked)."""
        now = time.monotonic() if now is None else now
        keys = list(keys)
        with self._mutex:
            busy = {k for k in keys if self._writers.get(k, txid) != txid or self._live_readers(k, now)}
            if not busy:
                for k in keys:
                    self._writers[k] = txid
            return busy

    def force_write(self, keys: Iterable[bytes], txid: str) -> None:
        """Restore the locks of a prepared transaction found at start."""
        with self._mutex:
            for k in keys:
                self._writers[k] = txid

    def release_write(self, keys: Iterable[bytes], txid: str) -> None:
        with self._mutex:
            for k in keys:
                if self._writers.get(k) == txid:
                    del self._writers[k]

    def try_read(self, keys: Iterable[bytes], read_id: str | None, lease_s: float) -> set[bytes]:
        """Read-lock every key (``read_id`` None: only check), or none: returns the write-locked keys."""
        keys = list(keys)
        with self._mutex:
            busy = {k for k in keys if k in self._writers}
            if not busy and read_id is not None:
                until = time.monotonic() + lease_s
                for k in keys:
                    self._readers.setdefault(k, {})[read_id] = until
            return busy

    def release_read(self, read_id: str) -> None:
        with self._mutex:
            for k in [k for k, holders in self._readers.items() if read_id in holders]:
                holders = self._readers[k]
                holders.pop(read_id, None)
                if not holders:
                    del self._readers[k]

    def blocks_write(self, keys: Iterable[bytes]) -> bool:
        """Whether a single-item write to any of ``keys`` conflicts with a transaction."""
        if not self._writers and not self._readers:
            return False
        now = time.monotonic()
        with self._mutex:
            return any(k in self._writers or self._live_readers(k, now) for k in keys)

    def _live_readers(self, key: bytes, now: float) -> bool:
        holders = self._readers.get(key)
        if not holders:
            return False
        for rid in [r for r, until in holders.items() if until <= now]:
            del holders[rid]
        if not holders:
            del self._readers[key]
            return False
        return True

    def write_locked(self) -> int:
        return len(self._writers)
