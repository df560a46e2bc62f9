"""Capacity unit arithmetic, ConsumedCapacity shapes and the provisioned-mode token bucket."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumo_tablestore import capacity
from kumo_tablestore.capacity import Consumption, TokenBucket
from kumo_tablestore.values import item_size


def test_read_units_round_up_per_4kb() -> None:
    assert capacity.read_units(1, consistent=True) == 1.0
    assert capacity.read_units(4096, consistent=True) == 1.0
    assert capacity.read_units(4097, consistent=True) == 2.0
    assert capacity.read_units(4097) == 1.0  # eventually consistent: half
    assert capacity.read_units(100) == 0.5
    assert capacity.read_units(9000, transactional=True) == 6.0
    assert capacity.get_item_units(None) == 0.5  # missing item still costs the minimum


def test_query_rounds_the_sum_but_batch_get_rounds_each_item() -> None:
    sizes = [1000] * 10  # 10,000 bytes
    assert capacity.query_units(sizes, consistent=True) == 3.0
    assert capacity.batch_get_units(sizes, consistent=True) == 10.0
    assert capacity.query_units([], consistent=False) == 0.5


def test_write_units() -> None:
    assert capacity.write_units(1) == 1.0
    assert capacity.write_units(1024) == 1.0
    assert capacity.write_units(1025) == 2.0
    assert capacity.put_units(old_size=3000, new_size=500) == 3.0  # larger of before and after
    assert capacity.put_units(None, 500, transactional=True) == 2.0
    assert capacity.delete_units(2500) == 3.0
    assert capacity.delete_units(None) == 1.0
    assert capacity.batch_write_units([(None, 100), (5000, None), (None, 2048)]) == 1 + 5 + 2


def test_units_for_a_real_item() -> None:
    item = {"id": {"S": "a" * 1000}, "n": {"N": "12345"}, "tags": {"L": [{"S": "x"}, {"BOOL": True}]}}
    size = item_size(item)
    assert size == (2 + 1000) + (1 + 4) + (4 + 3 + 2 + 1 + 1)
    assert capacity.write_units(size) == 1.0


@given(st.integers(min_value=0, max_value=400 * 1024), st.booleans())
def test_units_are_monotonic_and_cover_size(size: int, consistent: bool) -> None:
    r = capacity.read_units(size, consistent=True)
    assert r * capacity.READ_UNIT_BYTES >= size and r >= 1
    assert capacity.read_units(size + 1, consistent) >= capacity.read_units(size, consistent)
    assert capacity.write_units(size) * capacity.WRITE_UNIT_BYTES >= size


def test_consumed_capacity_shapes() -> None:
    c = Consumption(table_read=1.0)
    assert c.to_wire("t", "NONE") is None
    assert c.to_wire("t", None) is None
    assert c.to_wire("t", "TOTAL") == {"TableName": "t", "CapacityUnits": 1.0, "ReadCapacityUnits": 1.0}
    w = Consumption(table_write=2.0)
    w.add_index("byEmail", write=2.0)
    w.add_index("byEmail", write=1.0)
    w.add_index("local", write=1.0, local=True)
    assert w.total == 6.0
    assert w.to_wire("t", "INDEXES") == {
        "TableName": "t",
        "CapacityUnits": 6.0,
        "WriteCapacityUnits": 6.0,
        "Table": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
        "GlobalSecondaryIndexes": {"byEmail": {"CapacityUnits": 3.0, "WriteCapacityUnits": 3.0}},
        "LocalSecondaryIndexes": {"local": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}},
    }


def test_bucket_retains_at_most_300_seconds_of_unused_capacity() -> None:
    b = TokenBucket(rate=10, now=0.0, initial=0)
    assert not b.try_acquire(1, now=0.0)
    assert b.available(now=1.0) == 10
    assert b.available(now=10_000.0) == 3000  # capped at 300 s worth
    assert b.try_acquire(3000, now=10_000.0)
    assert not b.try_acquire(1, now=10_000.0)
    assert b.retry_after(5, now=10_000.0) == pytest.approx(0.5)


def test_bucket_starts_full_and_supports_debt() -> None:
    b = TokenBucket(rate=5, now=100.0)
    assert b.available(100.0) == 1500
    b.charge(1600, now=100.0)
    assert b.available(100.0) == -100
    assert not b.admit(now=110.0)  # -100 + 50
    assert b.admit(now=120.1)
    assert b.retry_after(10_000, now=120.1) == math.inf


def test_bucket_ignores_clock_going_backwards_and_rate_changes() -> None:
    b = TokenBucket(rate=10, now=50.0, initial=100)
    assert b.available(now=40.0) == 100
    b.set_rate(0.1, now=50.0)
    assert b.available(now=50.0) == 30  # capacity shrank to 0.1 * 300
    b.set_rate(0, now=60.0)
    assert not b.try_acquire(31, now=1e9)
    assert b.retry_after(31, now=1e9) == math.inf
    with pytest.raises(ValueError):
        TokenBucket(rate=-1, now=0)


@given(st.lists(st.tuples(st.floats(0, 50), st.floats(0, 100)), max_size=40))
def test_bucket_never_grants_more_than_rate_times_time_plus_burst(steps: list[tuple[float, float]]) -> None:
    b = TokenBucket(rate=7, now=0.0)
    now = granted = 0.0
    for dt, units in steps:
        now += dt
        if b.try_acquire(units, now):
            granted += units
    assert granted <= 7 * 300 + 7 * now + 1e-6
