"""The local pool's pure decisions: admission, idle reaping, limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kumo.scaling.decisions import (
    Admission,
    IdleInstance,
    PoolLimits,
    admit,
    effective_max_instances,
    instances_to_stop,
    reap_interval,
)

LIMITS = PoolLimits(max_instances=2, min_instances=0, idle_timeout_s=10, queue_limit=3)


def test_idle_instance_is_used_first():
    assert admit(idle=1, total=2, waiting=0, limits=LIMITS) is Admission.USE_IDLE


def test_starts_below_limit_then_waits_then_rejects():
    assert admit(idle=0, total=1, waiting=0, limits=LIMITS) is Admission.START
    assert admit(idle=0, total=2, waiting=2, limits=LIMITS) is Admission.WAIT
    assert admit(idle=0, total=2, waiting=3, limits=LIMITS) is Admission.REJECT


def test_reserved_concurrency_zero_disables_the_function():
    limits = PoolLimits(max_instances=effective_max_instances(10, 0))
    assert admit(idle=0, total=0, waiting=0, limits=limits) is Admission.REJECT
    assert effective_max_instances(10, 4) == 4
    assert effective_max_instances(3, 100) == 3
    assert effective_max_instances(3, None) == 3


def test_idle_instances_stop_after_timeout_oldest_first():
    idle = [IdleInstance("new", 95.0), IdleInstance("old", 80.0), IdleInstance("mid", 89.0)]
    assert instances_to_stop(idle, total=3, now=100.0, limits=LIMITS) == ["old", "mid"]


def test_min_instances_are_kept():
    limits = PoolLimits(max_instances=5, min_instances=2, idle_timeout_s=1)
    idle = [IdleInstance(str(i), 0.0) for i in range(3)]
    assert len(instances_to_stop(idle, total=3, now=100.0, limits=limits)) == 1
    assert instances_to_stop(idle[:2], total=2, now=100.0, limits=limits) == []


@given(
    idle=st.integers(0, 5),
    busy=st.integers(0, 5),
    waiting=st.integers(0, 10),
    max_instances=st.integers(0, 8),
    queue_limit=st.integers(0, 10),
)
def test_admission_never_exceeds_limits(idle, busy, waiting, max_instances, queue_limit):
    limits = PoolLimits(max_instances=max_instances, queue_limit=queue_limit)
    total = idle + busy
    decision = admit(idle=idle, total=total, waiting=waiting, limits=limits)
    if decision is Admission.START:
        assert total + 1 <= max_instances
    if decision is Admission.WAIT:
        assert waiting < queue_limit
    if idle:
        assert decision is Admission.USE_IDLE


@given(st.floats(0.001, 10_000))
def test_reap_interval_is_bounded(timeout):
    interval = reap_interval(timeout)
    assert 0.05 <= interval <= 1.0
    assert interval <= max(timeout, 0.05)
