"""Provisioned throughput for one partition: its share of the table's RCU/WCU as token buckets."""

from __future__ import annotations

import time
from collections.abc import Callable

from kumo_tablestore.capacity import TokenBucket
from kumo_tablestore.errors import ProvisionedThroughputExceededException
from kumo_tablestore.server.table_meta import TableMeta


class Throughput:
    """Admits and charges reads and writes; a no-op for on-demand tables."""

    def __init__(self, meta: TableMeta | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._read: TokenBucket | None = None
        self._write: TokenBucket | None = None
        self.configure(meta)

    def configure(self, meta: TableMeta | None) -> None:
        """Apply a (new) table description; accumulated burst is kept across rate changes."""
        now = self._clock()
        share = meta.provisioned if meta is not None else None
        if share is None:
            self._read = self._write = None
            return
        rcu, wcu = share
        if self._read is None or self._write is None:
            self._read, self._write = TokenBucket(rcu, now), TokenBucket(wcu, now)
        else:
            self._read.set_rate(rcu, now)
            self._write.set_rate(wcu, now)

    def admit_read(self) -> None:
        if self._read is not None and not self._read.admit(self._clock()):
            raise ProvisionedThroughputExceededException()

    def admit_write(self) -> None:
        if self._write is not None and not self._write.admit(self._clock()):
            raise ProvisionedThroughputExceededException()

    def charge_read(self, units: float) -> None:
        if self._read is not None:
            self._read.charge(units, self._clock())

    def charge_write(self, units: float) -> None:
        if self._write is not None:
            self._write.charge(units, self._clock())
