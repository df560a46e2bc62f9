"""Autoscaling decisions (pure): how many instances a function version needs, from gateway load reports.

One invocation per instance (Lambda's model), so demand is ``peak + waiting`` summed over gateways.
Scale up at once; scale down only to the highest demand over a stable window (no flapping); scale
to zero only when ``minInstances`` is 0 and no request arrived for ``idleTimeout``; never below what
is running right now.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from kumo.scaling.signals import Load


@dataclass(frozen=True)
class Observation:
    """All gateways' loads for one function version, as read at time ``at`` (epoch seconds)."""

    at: float
    loads: tuple[Load, ...] = ()

    @property
    def demand(self) -> int:
        return math.ceil(sum(load.peak + load.waiting for load in self.loads) / 1)

    @property
    def inflight(self) -> int:
        return sum(load.inflight for load in self.loads)

    @property
    def last_request(self) -> float | None:
        times = [load.last_request for load in self.loads if load.last_request is not None]
        return max(times) if times else None


def idle_for(observations: Sequence[Observation], now: float) -> float:
    """Seconds since the last request; with none reported, since the oldest observation (0 if none)."""
    if not observations:
        return 0.0
    requests = [o.last_request for o in observations if o.last_request is not None]
    since = max(requests) if requests else min(o.at for o in observations)
    return max(0.0, now - since)


def desired_replicas(
    observations: Sequence[Observation],
    now: float,
    *,
    min_instances: int,
    max_instances: int,
    idle_timeout_s: float,
    stable_window_s: float,
    current: int,
) -> int:
    """The replica count to set, given observations (any order) up to ``now`` and ``current`` replicas."""
    latest = max(observations, key=lambda o: o.at) if observations else Observation(now)
    want_now = latest.demand
    inflight = latest.inflight
    if want_now >= current:
        target = want_now
    else:
        recent = [o.demand for o in observations if now - o.at <= stable_window_s]
        target = min(current, max([want_now, *recent]))
    if target == 0 and current > 0 and idle_for(observations, now) < idle_timeout_s:
        target = 1
    target = max(min_instances, min(max_instances, target))
    return max(target, inflight)


@dataclass
class ScalingWindow:
    """The observations kept for one function version (bounded by age and count)."""

    keep_s: float
    max_items: int = 10_000
    observations: deque[Observation] = field(default_factory=deque)

    def add(self, observation: Observation) -> None:
        self.observations.append(observation)
        cutoff = observation.at - self.keep_s
        while len(self.observations) > 1 and (
            self.observations[0].at < cutoff or len(self.observations) > self.max_items
        ):
            self.observations.popleft()

    def snapshot(self) -> list[Observation]:
        return list(self.observations)
