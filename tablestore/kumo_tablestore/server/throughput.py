"""Provisioned throughput for one partition: its share of the table's RCU/WCU as token buckets.

A request whose cost is only known afterwards is admitted while the bucket has any capacity left
and charged once done (the bucket may go into debt). A batch admits its requests in order the same
way, one by one: :func:`admitted_prefix` says how many fit, the rest come back unprocessed.

Each GSI of a provisioned table has its own pair of buckets (this partition's share of the GSI's
throughput): a Query/Scan on the GSI reads from its read bucket, and a table write that changes the
GSI's entries is charged to its write bucket. A write is refused (ProvisionedThroughputExceeded,
DynamoDB's GSI message) when a GSI it changes has no write capacity left: the writer checks
:meth:`Throughput.exhausted_indexes`, taken before the write, against the write's index units
(:func:`refuse_exhausted`). LSI reads and writes draw on the table's buckets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from kumo_tablestore.capacity import Consumption, TokenBucket
from kumo_tablestore.errors import GSI_THROUGHPUT_EXCEEDED, ProvisionedThroughputExceededException
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


def refuse_exhausted(consumption: Consumption, exhausted: frozenset[str]) -> None:
    """Raise DynamoDB's GSI throttling error when the write changes a GSI with no write capacity left."""
    if exhausted and any(w > 0 and name in exhausted for name, (_, w) in consumption.gsi.items()):
        raise ProvisionedThroughputExceededException(GSI_THROUGHPUT_EXCEEDED)


def _pair(
    old: tuple[TokenBucket, TokenBucket] | None, rates: tuple[float, float], now: float
) -> tuple[TokenBucket, TokenBucket]:
    """Read and write buckets at ``rates``, keeping ``old``'s accumulated burst."""
    if old is None:
        return TokenBucket(rates[0], now), TokenBucket(rates[1], now)
    old[0].set_rate(rates[0], now)
    old[1].set_rate(rates[1], now)
    return old


class Throughput:
    """Admits and charges reads and writes of the table and its GSIs; a no-op for on-demand tables."""

    def __init__(self, meta: TableMeta | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._read: TokenBucket | None = None
        self._write: TokenBucket | None = None
        self._gsi: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self.configure(meta)

    def configure(self, meta: TableMeta | None) -> None:
        """Apply a (new) table description; accumulated burst is kept across rate changes."""
        now = self._clock()
        share = meta.provisioned if meta is not None else None
        if meta is None or share is None:
            self._read = self._write = None
            self._gsi = {}
            return
        table = None if self._read is None or self._write is None else (self._read, self._write)
        self._read, self._write = _pair(table, share, now)
        self._gsi = {name: _pair(self._gsi.get(name), rates, now) for name, rates in meta.gsi_provisioned.items()}

    @property
    def provisioned(self) -> bool:
        return self._write is not None

    # ---- GSIs ----------------------------------------------------------------------------------

    def exhausted_indexes(self) -> frozenset[str]:
        """GSIs with no write capacity left: a write that changes one of them is refused."""
        if not self._gsi:
            return frozenset()
        now = self._clock()
        return frozenset(name for name, (_, w) in self._gsi.items() if not w.admit(now))

    def admit_index_read(self, name: str) -> None:
        """A Query/Scan on index ``name``: its own read bucket for a GSI, the table's otherwise."""
        pair = self._gsi.get(name)
        if pair is None:
            self.admit_read()
        elif not pair[0].admit(self._clock()):
            raise ProvisionedThroughputExceededException(GSI_THROUGHPUT_EXCEEDED)

    def charge_index_read(self, name: str, units: float) -> None:
        pair = self._gsi.get(name)
        if pair is None:
            self.charge_read(units)
        else:
            pair[0].charge(units, self._clock())

    def charge(self, consumption: Consumption) -> None:
        """Charge a request's table units (LSI units included) and each GSI's units to its own buckets."""
        self.charge_read(consumption.table_read + consumption.lsi_read)
        self.charge_write(consumption.table_write + consumption.lsi_write)
        if not self._gsi:
            return
        now = self._clock()
        for name, (r, w) in consumption.gsi.items():
            pair = self._gsi.get(name)
            if pair is not None:
                pair[0].charge(r, now)
                pair[1].charge(w, now)

    # ---- the table -----------------------------------------------------------------------------

    def has_read_capacity(self) -> bool:
        return self._read is None or self._read.admit(self._clock())

    def has_write_capacity(self) -> bool:
        return self._write is None or self._write.admit(self._clock())

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
