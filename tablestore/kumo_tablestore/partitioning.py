"""Which partition owns an item, and which parallel-scan segment it belongs to. Pure.

An item's encoded partition-key value is hashed (BLAKE2b, 64 bits: stable across processes and
versions) to a point on a 64-bit ring. The ring is cut into :data:`SLOTS` equal slots; a
:class:`SlotMap` assigns contiguous slot ranges to partitions. Adding a partition later means moving
slot ranges between partitions — hashes never change. Parallel-scan segments are contiguous ranges
of the same ring, so a segment touches only the partitions owning its slots.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from dataclasses import dataclass
from typing import Any

#: Number of hash slots. Fixed forever: changing it would move every item.
SLOTS = 16384
_RING_BITS = 64
#: DynamoDB's upper bound on ``TotalSegments``.
MAX_TOTAL_SEGMENTS = 1_000_000


def key_hash(pk_enc: bytes) -> int:
    """64-bit stable hash of an encoded partition-key value."""
    return int.from_bytes(hashlib.blake2b(pk_enc, digest_size=8, person=b"kumo-pk").digest(), "big")


def slot_of(pk_enc: bytes) -> int:
    """Slot (``0 .. SLOTS-1``) owning a partition-key value."""
    return key_hash(pk_enc) * SLOTS >> _RING_BITS


def segment_of(pk_enc: bytes, total_segments: int) -> int:
    """Parallel-scan segment (``0 .. total_segments-1``) of every item with this partition key."""
    _check_segments(0, total_segments)
    return key_hash(pk_enc) * total_segments >> _RING_BITS


def segment_slots(segment: int, total_segments: int) -> range:
    """The slots that may hold items of ``segment`` (a contiguous range; neighbours may share one)."""
    _check_segments(segment, total_segments)
    ring = 1 << _RING_BITS
    lo = -(-segment * ring // total_segments)  # first hash in the segment
    hi = -(-(segment + 1) * ring // total_segments) - 1  # last hash in the segment
    return range(lo * SLOTS >> _RING_BITS, (hi * SLOTS >> _RING_BITS) + 1)


def _check_segments(segment: int, total: int) -> None:
    if not 1 <= total <= MAX_TOTAL_SEGMENTS:
        raise ValueError(f"TotalSegments must be between 1 and {MAX_TOTAL_SEGMENTS}")
    if not 0 <= segment < total:
        raise ValueError("Segment must be less than TotalSegments")


@dataclass(frozen=True)
class SlotRange:
    """Slots ``start .. end-1`` belong to ``partition``."""

    start: int
    end: int
    partition: int


class SlotMap:
    """Contiguous slot ranges covering ``0 .. slots-1``, each owned by a partition index."""

    def __init__(self, ranges: list[SlotRange], slots: int = SLOTS) -> None:
        ranges = sorted(ranges, key=lambda r: r.start)
        pos = 0
        for r in ranges:
            if r.start != pos or r.end <= r.start or r.partition < 0:
                raise ValueError(f"slot ranges must be non-empty and contiguous from 0; bad range {r}")
            pos = r.end
        if pos != slots:
            raise ValueError(f"slot ranges must cover all {slots} slots, they cover {pos}")
        self.slots = slots
        self.ranges = _merge(ranges)
        self._starts = [r.start for r in self.ranges]
        #: The partition owning every slot, when one does (then no key needs hashing).
        self.sole_partition = self.ranges[0].partition if len(self.ranges) == 1 else None

    @classmethod
    def even(cls, partitions: int, slots: int = SLOTS) -> SlotMap:
        """Split the slots into ``partitions`` near-equal contiguous ranges."""
        if not 1 <= partitions <= slots:
            raise ValueError(f"partitions must be between 1 and {slots}")
        bounds = [i * slots // partitions for i in range(partitions + 1)]
        return cls([SlotRange(bounds[i], bounds[i + 1], i) for i in range(partitions)], slots)

    @property
    def partitions(self) -> int:
        """Number of partitions (highest index + 1)."""
        return max(r.partition for r in self.ranges) + 1

    def partition_of_slot(self, slot: int) -> int:
        if not 0 <= slot < self.slots:
            raise ValueError(f"slot {slot} out of range")
        return self.ranges[bisect.bisect_right(self._starts, slot) - 1].partition

    def partition_of(self, pk_enc: bytes) -> int:
        """Partition owning an encoded partition-key value."""
        if self.sole_partition is not None:
            return self.sole_partition
        return self.partition_of_slot(key_hash(pk_enc) * self.slots >> _RING_BITS)

    def slots_of(self, partition: int) -> list[range]:
        """Slot ranges owned by ``partition``."""
        return [range(r.start, r.end) for r in self.ranges if r.partition == partition]

    def partitions_for_slots(self, slots: range) -> list[int]:
        """Partitions owning any slot in ``slots`` (ascending, no duplicates)."""
        return sorted({r.partition for r in self.ranges if r.start < slots.stop and slots.start < r.end})

    def partitions_for_segment(self, segment: int, total_segments: int) -> list[int]:
        """Partitions a parallel-scan segment has to visit."""
        return self.partitions_for_slots(segment_slots(segment, total_segments))

    def move(self, start: int, end: int, partition: int) -> SlotMap:
        """A new map in which slots ``start .. end-1`` belong to ``partition`` (for rebalancing)."""
        if not 0 <= start < end <= self.slots:
            raise ValueError("invalid slot range")
        out: list[SlotRange] = []
        for r in self.ranges:
            if r.start < start:
                out.append(SlotRange(r.start, min(r.end, start), r.partition))
            if r.end > end:
                out.append(SlotRange(max(r.start, end), r.end, r.partition))
        out.append(SlotRange(start, end, partition))
        return SlotMap(out, self.slots)

    def to_dict(self) -> dict[str, Any]:
        return {"slots": self.slots, "ranges": [[r.start, r.end, r.partition] for r in self.ranges]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlotMap:
        try:
            ranges = [SlotRange(int(s), int(e), int(p)) for s, e, p in data["ranges"]]
            return cls(ranges, int(data.get("slots", SLOTS)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid slot map: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> SlotMap:
        return cls.from_dict(json.loads(text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlotMap) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        return f"SlotMap({len(self.ranges)} ranges over {self.partitions} partitions)"


def _merge(ranges: list[SlotRange]) -> list[SlotRange]:
    out: list[SlotRange] = []
    for r in ranges:
        if out and out[-1].partition == r.partition and out[-1].end == r.start:
            out[-1] = SlotRange(out[-1].start, r.end, r.partition)
        else:
            out.append(r)
    return out
