"""Autoscaler decisions (pure) and the load-signal contract."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kumo.scaling.signals import Load, SignalError, decode, encode, field_for, key_for_gateway, parse_field
from kumo_operator.autoscaler import Observation, ScalingWindow, desired_replicas

LIMITS = {"min_instances": 0, "max_instances": 10, "idle_timeout_s": 60.0, "stable_window_s": 30.0}


def obs(at: float, *loads: Load) -> Observation:
    return Observation(at, loads)


def test_scale_up_immediately_to_peak_plus_waiting_across_gateways() -> None:
    seen = [obs(100, Load(inflight=2, peak=3, waiting=1, last_request=100), Load(peak=2, last_request=99))]
    assert desired_replicas(seen, 100, current=0, **LIMITS) == 6


def test_clamped_to_max_and_min() -> None:
    assert desired_replicas([obs(1, Load(peak=50, last_request=1))], 1, current=1, **LIMITS) == 10
    limits = LIMITS | {"min_instances": 2}
    assert desired_replicas([], 1000, current=0, **limits) == 2


def test_scale_down_only_to_the_window_maximum() -> None:
    seen = [
        obs(100, Load(peak=5, last_request=100)),
        obs(110, Load(peak=2, last_request=110)),
        obs(120, Load(peak=1, last_request=120)),
    ]
    assert desired_replicas(seen, 120, current=6, **LIMITS) == 5
    assert desired_replicas(seen, 135, current=5, **LIMITS) == 2  # the peak of 5 left the 30 s window


def test_scale_to_zero_only_after_idle_timeout() -> None:
    seen = [obs(100, Load(last_request=100)), obs(140, Load(last_request=100))]
    assert desired_replicas(seen, 140, current=2, **LIMITS) == 1
    assert desired_replicas([*seen, obs(161, Load(last_request=100))], 161, current=1, **LIMITS) == 0
    # no request ever reported: idle counted from the first observation
    assert desired_replicas([obs(100), obs(150)], 150, current=1, **LIMITS) == 1
    assert desired_replicas([obs(100), obs(161)], 161, current=1, **LIMITS) == 0


def test_never_below_inflight() -> None:
    seen = [obs(100, Load(inflight=4, peak=0, last_request=0))]
    assert desired_replicas(seen, 100, current=6, **LIMITS) == 4


def test_window_prunes_old_observations() -> None:
    window = ScalingWindow(keep_s=10)
    for t in range(30):
        window.add(obs(float(t)))
    assert [o.at for o in window.snapshot()] == [float(t) for t in range(19, 30)]


loads = st.builds(
    Load,
    inflight=st.integers(0, 20),
    peak=st.integers(0, 40),
    waiting=st.integers(0, 20),
    last_request=st.one_of(st.none(), st.floats(0, 1000)),
)
observations = st.lists(st.builds(Observation, st.floats(0, 1000), st.lists(loads, max_size=3).map(tuple)), max_size=8)


@given(
    observations,
    st.floats(0, 1100),
    st.integers(0, 5),
    st.integers(0, 10),
    st.integers(0, 30),
    st.floats(0.1, 120),
    st.floats(0.1, 120),
)
def test_invariants(seen, now, minimum, extra, current, idle, stable) -> None:
    maximum = max(1, minimum + extra)
    result = desired_replicas(
        seen,
        now,
        min_instances=minimum,
        max_instances=maximum,
        idle_timeout_s=idle,
        stable_window_s=stable,
        current=current,
    )
    latest = max(seen, key=lambda o: o.at) if seen else Observation(now)
    assert result >= minimum
    assert result >= latest.inflight
    assert result <= max(maximum, latest.inflight)
    if latest.demand < current:  # scaling down never overshoots the current count
        assert result <= max(current, minimum, latest.inflight)
    else:  # scaling up is immediate
        assert result >= min(latest.demand, maximum)


def test_signal_contract() -> None:
    load = Load(inflight=1, peak=2, waiting=3, last_request=1700000000.5)
    assert decode(encode(load)) == load
    assert key_for_gateway("gw-1") == "kumo:gw:gw-1:load"
    assert parse_field(field_for("ns", "fn", "abc")) == ("ns", "fn", "abc")
    for bad in ("not json", "[]", '{"peak": -1}', '{"peak": true}', '{"last_request": "x"}'):
        with pytest.raises(SignalError):
            decode(bad)
    with pytest.raises(SignalError):
        field_for("ns", "a/b", "v")
