"""Provisioned throughput for one partition: its share of the table's RCU/WCU as token buckets.

A request whose cost is only known afterwards is admitted while the bucket has any capacity left
and charged once done (the bucket may go into debt). A batch admits its requests in order the same
way, one by one: :func:`admitted_prefix` says how many fit, the rest come back unprocessed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from kumo_tablestore.capacity import TokenBucket
from kumo_tablestore.errors import ProvisionedThroughputExceededException
from kumo_tablestore.server.table_meta import TableMeta


def admitted_prefix(available: float, costs: Sequence[float]) -> int:
    """How many of ``costs``, in order, are admitted: each one while capacity is left before it."""
    admitted = 0
    for cost in costs:
        if available <= 0:
            break
        available -= cost
        admitted += 1
    return admitted


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

    def take_reads(self, costs: Sequence[float]) -> int:
        """Admit and charge the longest admissible prefix of reads costing ``costs``; returns its length.

        Raises :class:`ProvisionedThroughputExceededException` when ``costs`` is not empty and none fits.
        """
        return self._take(self._read, costs)

    def take_writes(self, costs: Sequence[float]) -> int:
        """As :meth:`take_reads` for writes; ``costs`` may be estimates, corrected later with :meth:`charge_write`."""
        return self._take(self._write, costs)

    def _take(self, bucket: TokenBucket | None, costs: Sequence[float]) -> int:
        if bucket is None:
            return len(costs)
        now = self._clock()
        admitted = admitted_prefix(bucket.available(now), costs)
        if costs and not admitted:
            raise ProvisionedThroughputExceededException()
        bucket.charge(sum(costs[:admitted]), now)
        return admitted
