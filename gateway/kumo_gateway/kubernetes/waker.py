"""Scale a function version's Deployment up through ``/scale`` (never down); one call per target at a time.

Concurrent requests for a scaled-to-zero version share one wake-up: while a call that reaches at
least the wanted replicas is in flight, later callers await it instead of writing again, and a
recent answer is remembered for ``memo_s`` so a burst costs one GET.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Scaler(Protocol):
    """The scale subresource of Deployments (:class:`kumo.kube.client.KubeClient` in a cluster)."""

    async def get_scale(self, namespace: str, deployment: str) -> int | None:
        """``spec.replicas`` of the Scale, or ``None`` when the Deployment does not exist."""
        ...

    async def set_scale(self, namespace: str, deployment: str, replicas: int) -> None: ...


class DeploymentMissing(Exception):
    """The version's Deployment does not exist (yet)."""


def scale_target(wanted: int, max_instances: int) -> int:
    """At least 1, at most ``max_instances`` (itself at least 1)."""
    return max(1, min(wanted, max(1, max_instances)))


class Waker:
    """Raises Deployments' replicas to what requests need; the operator's autoscaler lowers them."""

    def __init__(self, scaler: Scaler, *, memo_s: float = 1.0) -> None:
        self.scaler = scaler
        self.memo_s = memo_s
        self._inflight: dict[tuple[str, str], tuple[int, asyncio.Task[int]]] = {}
        self._known: dict[tuple[str, str], tuple[int, float]] = {}
        #: Writes made (for tests, benchmarks and logs).
        self.scale_calls = 0

    async def ensure(self, namespace: str, deployment: str, wanted: int, max_instances: int) -> int:
        """Make sure the Deployment asks for at least ``scale_target(wanted, max_instances)`` replicas."""
        key = (namespace, deployment)
        target = scale_target(wanted, max_instances)
        known = self._known.get(key)
        if known is not None and known[0] >= target and time.monotonic() - known[1] < self.memo_s:
            return known[0]
        running = self._inflight.get(key)
        if running is not None and running[0] >= target:
            return await asyncio.shield(running[1])
        task = asyncio.create_task(self._scale(key, target))
        self._inflight[key] = (target, task)
        task.add_done_callback(lambda t, key=key: self._forget(key, t))
        return await asyncio.shield(task)

    def forget(self, namespace: str, deployment: str) -> None:
        """Drop what is remembered (e.g. the endpoints went away: the autoscaler scaled down)."""
        self._known.pop((namespace, deployment), None)

    def _forget(self, key: tuple[str, str], task: asyncio.Task[int]) -> None:
        if self._inflight.get(key, (0, None))[1] is task:
            del self._inflight[key]

    async def _scale(self, key: tuple[str, str], target: int) -> int:
        namespace, deployment = key
        current = await self.scaler.get_scale(namespace, deployment)
        if current is None:
            raise DeploymentMissing(f"deployment {namespace}/{deployment} not found")
        if current < target:
            await self.scaler.set_scale(namespace, deployment, target)
            self.scale_calls += 1
            current = target
        self._known[key] = (current, time.monotonic())
        return current
