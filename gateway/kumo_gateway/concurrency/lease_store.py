"""Concurrency leases in Redis, shared by every gateway replica (and worker).

A pool is a sorted set of lease ids scored by when each lease expires (Redis' clock, ``TIME`` in
the script). Acquiring drops the expired leases, then adds one if the pool has room; releasing
removes it. Each is one Lua script call (one round trip, on the usage-plan script's lean link:
:mod:`kumo_gateway.apigateway.script_link`). A gateway that crashes holding leases leaks nothing
for longer than the lease's life (the function's timeout plus a grace).
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from kumo_gateway.apigateway.script_link import ScriptLink

if TYPE_CHECKING:
    from redis.asyncio import Redis

#: ARGV: op ('a' acquire | 'r' release), pool key, lease id, limit, ttl ms.
#: Acquire answers 1 (leased) or 0 (full); release answers how many leases it removed.
LEASE_SCRIPT = """
local key, id = ARGV[2], ARGV[3]
if ARGV[1] == 'r' then return redis.call('ZREM', key, id) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= tonumber(ARGV[4]) then return 0 end
local ttl = tonumber(ARGV[5])
redis.call('ZADD', key, now + ttl, id)
if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
return 1
"""


def _bulk(arg: str) -> bytes:
    data = arg.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


LEASE_SHA = hashlib.sha1(LEASE_SCRIPT.encode()).hexdigest()


class LeaseStore:
    """Acquire and release leases in one script call each."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._script = redis.register_script(LEASE_SCRIPT)
        #: The lean connection (None: redis-py's, for TLS and other connection kinds).
        self.link = ScriptLink.for_client(redis, LEASE_SCRIPT, LEASE_SHA)

    async def _run(self, *args: str) -> int:
        if self.link is None:
            return int(await self._script(keys=[], args=list(args)))
        return int(await self.link.run(b"".join(map(_bulk, args)), len(args)))

    async def acquire(self, key: str, lease_id: str, limit: int, ttl_ms: int) -> bool:
        """Take a lease in pool ``key`` (at most ``limit``) living ``ttl_ms`` unless released."""
        return await self._run("a", key, lease_id, str(limit), str(ttl_ms)) == 1

    async def release(self, key: str, lease_id: str) -> bool:
        return await self._run("r", key, lease_id, "0", "0") == 1

    async def in_use(self, key: str) -> int:
        """Leases currently held in pool ``key`` (expired ones not counted)."""
        return int(await self.redis.zcount(key, int(time.time() * 1000), "+inf"))

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
