"""Concurrency leases in Redis, shared by every gateway replica (and worker).

A pool is a sorted set of lease ids scored by when each lease expires (Redis' clock, ``TIME`` in
the script). Acquiring drops the expired leases, then adds one if the pool has room; releasing
removes it. Both are the hot path's one script (:mod:`kumo_gateway.admission`, on its lean link):
an acquire is one call (or part of the usage-plan checks' call, :meth:`LimitsStore.check_and_lease`),
and a release rides on this replica's next call (or goes alone within a few milliseconds). A gateway
that crashes holding leases leaks nothing for longer than the lease's life (the function's timeout
plus a grace).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from kumo_gateway.admission import AdmissionScript, lease_head
from kumo_gateway.apigateway.script_link import ScriptLink

if TYPE_CHECKING:
    from redis.asyncio import Redis


class LeaseStore:
    """Acquire leases in one script call each; give them back with the next call."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.script = AdmissionScript.shared(redis)

    @property
    def link(self) -> ScriptLink | None:
        return self.script.link

    @link.setter
    def link(self, value: ScriptLink | None) -> None:  # tests take the redis-py path with ``link = None``
        self.script.link = value

    async def acquire(self, key: str, lease_id: str, limit: int, ttl_ms: int) -> bool:
        """Take a lease in pool ``key`` (at most ``limit``) living ``ttl_ms`` unless released."""
        if self.script.link is not None:
            answer = await self.script.run_packed(lease_head("a", key, lease_id, limit, ttl_ms), 5)
        else:
            answer = await self.script.run(["a", key, lease_id, str(limit), str(ttl_ms)])
        return int(answer[3]) == 1

    async def release(self, key: str, lease_id: str) -> bool:
        """Give a lease back now (with any queued releases); True when it was still held."""
        self.script.release_soon(key, lease_id)
        return await self.script.flush() >= 1

    def release_soon(self, key: str, lease_id: str) -> None:
        """Give a lease back with the next call (the answer need not wait for Redis)."""
        self.script.release_soon(key, lease_id)

    async def in_use(self, key: str) -> int:
        """Leases currently held in pool ``key`` (expired ones not counted; queued releases sent first)."""
        await self.script.flush()
        return int(await self.redis.zcount(key, int(time.time() * 1000), "+inf"))

    def close(self) -> None:
        self.script.close()
