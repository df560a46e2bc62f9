"""Pure decisions of a local instance pool: admit a request, and which idle instances to stop.

Lambda semantics: one invocation per instance at a time. A request takes an idle instance, else
starts a new one while the pool is below its limit, else waits in a bounded queue, else is
throttled. Idle instances stop after the idle timeout (scale to zero), keeping ``min_instances``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Admission(enum.Enum):
    USE_IDLE = "use-idle"
    START = "start"
    WAIT = "wait"
    REJECT = "reject"


@dataclass(frozen=True)
class PoolLimits:
    max_instances: int
    min_instances: int = 0
    idle_timeout_s: float = 60.0
    #: How many requests may wait for a busy pool before further ones are throttled.
    queue_limit: int = 100
    #: How long a queued request waits for an instance before it is throttled.
    queue_timeout_s: float = 30.0

    @property
    def can_run(self) -> bool:
        return self.max_instances > 0


def effective_max_instances(max_instances: int, reserved_concurrency: int | None) -> int:
    """Reserved concurrency caps the pool (0 disables the function, as on Lambda)."""
    if reserved_concurrency is None:
        return max_instances
    return min(max_instances, reserved_concurrency)


def admit(*, idle: int, total: int, waiting: int, limits: PoolLimits) -> Admission:
    """Decide what a new request does, given the pool's counts (``total`` includes starting ones)."""
    if idle > 0:
        return Admission.USE_IDLE
    if total < limits.max_instances:
        return Admission.START
    if limits.can_run and waiting < limits.queue_limit:
        return Admission.WAIT
    return Admission.REJECT


@dataclass(frozen=True)
class IdleInstance:
    instance_id: str
    idle_since: float


def instances_to_stop(idle: Iterable[IdleInstance], *, total: int, now: float, limits: PoolLimits) -> list[str]:
    """Idle instances past the idle timeout, oldest first, never going below ``min_instances``."""
    expired = sorted((i for i in idle if now - i.idle_since >= limits.idle_timeout_s), key=lambda i: i.idle_since)
    removable = max(0, total - limits.min_instances)
    return [i.instance_id for i in expired[:removable]]


def reap_interval(idle_timeout_s: float) -> float:
    """How often to look for idle instances: a fraction of the timeout, between 50 ms and 1 s."""
    return min(1.0, max(0.05, idle_timeout_s / 4))
