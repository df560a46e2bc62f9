"""Capacity units as DynamoDB charges them, ``ConsumedCapacity`` shapes, and a provisioned-mode bucket.

Pure: sizes come from :func:`kumo_tablestore.values.item_size`, time is passed in as ``now``.
Rules (DynamoDB developer guide, "Read/write capacity mode" and "Item sizes and formats"):

- reads: 4 KB units; eventually consistent = half a unit, strongly consistent = one, transactional
  = two. GetItem and each BatchGetItem item round up on their own; Query and Scan add up every item
  read and round once. Reading nothing still costs one (half) unit.
- writes: 1 KB units, at least one; PutItem/UpdateItem charge the larger of the old and new item,
  DeleteItem the deleted item; transactional writes double; BatchWriteItem charges per item.
- secondary indexes ("Provisioned throughput considerations for Global Secondary Indexes", "Local
  secondary indexes: write capacity"): a table write that changes an index entry also writes the
  index, 1 KB units of the projected entry: a put when the item enters the index, a delete when it
  leaves, both when its index key changes, one write (the larger entry) when only projected
  attributes change, nothing when the entry is unchanged or the item is in the index neither before
  nor after. GSI writes draw on the GSI's own write capacity, LSI writes on the table's. Index
  writes are not doubled for transactions (only the transaction's own item reads and writes are).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kumo_tablestore.values import Item, item_size

if TYPE_CHECKING:
    from kumo_tablestore.indexes.definitions import IndexDef

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
#: DynamoDB keeps up to five minutes of unused provisioned capacity as burst.
BURST_SECONDS = 300.0

ReturnConsumedCapacity = Literal["INDEXES", "TOTAL", "NONE"]


def read_units(size_bytes: int, consistent: bool = False, transactional: bool = False) -> float:
    """Units for reading ``size_bytes`` in one unit-rounded request."""
    units = max(1, math.ceil(size_bytes / READ_UNIT_BYTES))
    if transactional:
        return float(units * 2)
    return float(units) if consistent else units / 2


def write_units(size_bytes: int, transactional: bool = False) -> float:
    """Units for writing an item of ``size_bytes`` (at least one)."""
    units = max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))
    return float(units * 2 if transactional else units)


def get_item_units(size_bytes: int | None, consistent: bool = False) -> float:
    """GetItem: a missing item still costs the minimum."""
    return read_units(size_bytes or 0, consistent)


def query_units(sizes: Iterable[int], consistent: bool = False) -> float:
    """Query/Scan: sum of the sizes of every item read (before filtering), rounded up once."""
    return read_units(sum(sizes), consistent)


def batch_get_units(sizes: Iterable[int | None], consistent: bool = False) -> float:
    """BatchGetItem: each requested item rounds up on its own."""
    return sum(get_item_units(s, consistent) for s in sizes)


def put_units(old_size: int | None, new_size: int, transactional: bool = False) -> float:
    """PutItem or UpdateItem: the larger of the item before and after."""
    return write_units(max(old_size or 0, new_size), transactional)


def delete_units(old_size: int | None, transactional: bool = False) -> float:
    """DeleteItem: the size of the deleted item (a missing item costs one unit)."""
    return write_units(old_size or 0, transactional)


def batch_write_units(sizes: Iterable[tuple[int | None, int | None]]) -> float:
    """BatchWriteItem: per request ``(old_size, new_size)``; ``new_size None`` is a delete."""
    return sum(delete_units(old) if new is None else put_units(old, new) for old, new in sizes)


def index_write_units(old: tuple[bytes, Item] | None, new: tuple[bytes, Item] | None) -> float:
    """Write units one table write costs an index; ``old``/``new`` are the item's ``(entry key, projected
    entry)`` before and after (``None``: not in the index)."""
    if old is None and new is None:
        return 0.0
    if old is None or new is None:
        _, entry = old or new  # type: ignore[misc]
        return write_units(item_size(entry))
    if old[0] != new[0]:  # the index key changed: delete the old entry, put the new one
        return write_units(item_size(old[1])) + write_units(item_size(new[1]))
    if old[1] == new[1]:
        return 0.0
    return put_units(item_size(old[1]), item_size(new[1]))


def index_entry(index: IndexDef, item: Item | None, base_key: bytes) -> tuple[bytes, Item] | None:
    """``(entry key, projected entry)`` of ``item`` (table key ``base_key``) in ``index``; ``None`` if not in it."""
    if not item:
        return None
    key = index.entry_key(item, base_key)
    return None if key is None else (key, index.project(item))


def index_writes(
    indexes: Iterable[IndexDef], base_key: bytes, old: Item | None, new: Item | None, into: Consumption
) -> Consumption:
    """Add to ``into`` the index write units of one table write (``old`` → ``new``; ``None``: absent)."""
    for index in indexes:
        units = index_write_units(index_entry(index, old, base_key), index_entry(index, new, base_key))
        if units:
            into.add_index(index.name, write=units, local=index.kind == "LSI")
    return into


@dataclass
class Consumption:
    """Units one request consumed on the table and on each index it touched."""

    table_read: float = 0.0
    table_write: float = 0.0
    gsi: dict[str, tuple[float, float]] = field(default_factory=dict)
    lsi: dict[str, tuple[float, float]] = field(default_factory=dict)

    def add_index(self, name: str, read: float = 0.0, write: float = 0.0, local: bool = False) -> None:
        target = self.lsi if local else self.gsi
        r, w = target.get(name, (0.0, 0.0))
        target[name] = (r + read, w + write)

    def add(self, other: Consumption) -> None:
        """Sum ``other`` into this one (the same table)."""
        self.table_read += other.table_read
        self.table_write += other.table_write
        for name, (r, w) in other.gsi.items():
            self.add_index(name, r, w)
        for name, (r, w) in other.lsi.items():
            self.add_index(name, r, w, local=True)

    @property
    def lsi_write(self) -> float:
        """LSI write units (charged to the table's write capacity)."""
        return sum(w for _, w in self.lsi.values())

    @property
    def lsi_read(self) -> float:
        return sum(r for r, _ in self.lsi.values())

    def to_dict(self) -> dict[str, Any]:
        """A plain form for the partition → coordinator protocol (:meth:`from_dict` reads it back)."""
        out: dict[str, Any] = {"R": self.table_read, "W": self.table_write}
        if self.gsi:
            out["GSI"] = {n: list(v) for n, v in self.gsi.items()}
        if self.lsi:
            out["LSI"] = {n: list(v) for n, v in self.lsi.items()}
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Consumption:
        out = cls(float(raw.get("R", 0.0)), float(raw.get("W", 0.0)))
        for name, (r, w) in (raw.get("GSI") or {}).items():
            out.add_index(name, float(r), float(w))
        for name, (r, w) in (raw.get("LSI") or {}).items():
            out.add_index(name, float(r), float(w), local=True)
        return out

    @property
    def total(self) -> float:
        idx = sum(r + w for r, w in (*self.gsi.values(), *self.lsi.values()))
        return self.table_read + self.table_write + idx

    def to_wire(self, table_name: str, mode: ReturnConsumedCapacity | None) -> dict[str, Any] | None:
        """The ``ConsumedCapacity`` object for ``ReturnConsumedCapacity`` (``None`` for NONE)."""
        if mode not in ("TOTAL", "INDEXES"):
            return None
        reads = self.table_read + sum(r for r, _ in (*self.gsi.values(), *self.lsi.values()))
        writes = self.table_write + sum(w for _, w in (*self.gsi.values(), *self.lsi.values()))
        out: dict[str, Any] = {"TableName": table_name, **_units(reads, writes)}
        if mode == "INDEXES":
            out["Table"] = _units(self.table_read, self.table_write)
            if self.gsi:
                out["GlobalSecondaryIndexes"] = {n: _units(r, w) for n, (r, w) in self.gsi.items()}
            if self.lsi:
                out["LocalSecondaryIndexes"] = {n: _units(r, w) for n, (r, w) in self.lsi.items()}
        return out


def _units(read: float, write: float) -> dict[str, float]:
    out = {"CapacityUnits": read + write}
    if read:
        out["ReadCapacityUnits"] = read
    if write:
        out["WriteCapacityUnits"] = write
    return out


class TokenBucket:
    """Provisioned throughput for one table or index: ``rate`` units/s, with burst.

    Unused capacity accumulates for up to :data:`BURST_SECONDS` (``capacity = rate * 300``). The
    bucket starts full unless told otherwise. :meth:`charge` may take it negative (a Query's real
    cost is only known afterwards); later requests then wait for the debt to refill.
    """

    def __init__(
        self, rate: float, now: float, burst_seconds: float = BURST_SECONDS, initial: float | None = None
    ) -> None:
        if rate < 0 or burst_seconds < 0:
            raise ValueError("rate and burst_seconds must not be negative")
        self.rate = float(rate)
        self.burst_seconds = burst_seconds
        self.tokens = self.capacity if initial is None else min(float(initial), self.capacity)
        self.updated = now

    @property
    def capacity(self) -> float:
        return max(self.rate * self.burst_seconds, self.rate)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def admit(self, now: float) -> bool:
        """Whether a request whose cost is not yet known may start (any capacity left)."""
        return self.available(now) > 0

    def try_acquire(self, units: float, now: float) -> bool:
        """Take ``units`` if they are all available; False (and nothing taken) otherwise."""
        self._refill(now)
        if self.tokens >= units:
            self.tokens -= units
            return True
        return False

    def charge(self, units: float, now: float) -> None:
        """Take ``units`` unconditionally (the bucket may go into debt)."""
        self._refill(now)
        self.tokens -= units

    def retry_after(self, units: float, now: float) -> float:
        """Seconds until ``units`` will be available (``inf`` when they never can be)."""
        self._refill(now)
        if self.tokens >= units:
            return 0.0
        if self.rate == 0 or units > self.capacity:
            return math.inf
        return (units - self.tokens) / self.rate

    def set_rate(self, rate: float, now: float) -> None:
        """UpdateTable: new provisioned rate; accumulated burst is kept up to the new capacity."""
        if rate < 0:
            raise ValueError("rate must not be negative")
        self._refill(now)
        self.rate = float(rate)
        self.tokens = min(self.tokens, self.capacity)
