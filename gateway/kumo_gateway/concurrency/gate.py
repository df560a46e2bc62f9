"""The concurrency gate: a :class:`~kumo_gateway.provider.Provider` that takes a lease before the
wrapped provider's instance and gives it back after, so every invocation through the provider path
(the Invoke API, Api routes) is counted against the account limit and reserved concurrency."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError

from kumo.catalog import Catalog
from kumo_gateway.concurrency import rules
from kumo_gateway.concurrency.lease_store import LeaseStore
from kumo_gateway.concurrency.reservations import Reservations
from kumo_gateway.provider import Instance, Provider, TooManyRequests

log = logging.getLogger("kumo.gateway.concurrency")
#: Seconds between two warnings that Redis is unreachable (calls run uncounted meanwhile).
_WARN_EVERY_S = 30.0


class ConcurrencyGate:
    """Wraps ``provider``; everything but ``acquire`` is the wrapped provider's."""

    def __init__(
        self,
        provider: Provider,
        catalog: Catalog,
        store: LeaseStore,
        account_limit: int,
        reservations: Reservations | None = None,
    ) -> None:
        self.provider = provider
        #: Reservations set through the API (PutFunctionConcurrency), over the manifests'.
        self.reservations = reservations or Reservations(None)
        self.catalog = catalog
        self.store = store
        self.account_limit = account_limit
        self._warned_at = 0.0
        self._releasing: set[asyncio.Future[None]] = set()
        #: ((catalog generation, API reservations' version), reservations summed at it)
        self._reserved: tuple[tuple[int, int], int] = ((-1, -1), 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.provider, name)

    async def start(self) -> None:
        await self.provider.start()

    async def stop(self) -> None:
        await self.provider.stop()

    def pool(self, function: str) -> tuple[rules.Pool, int]:
        """The pool ``function`` draws from and its lease's life (ms)."""
        found = self.catalog.function(function)
        reservations = self.reservations
        reservations.refresh_soon()
        reserved = reservations.effective(function, found.spec.concurrency.reserved if found is not None else None)
        timeout_s = found.spec.timeout if found is not None else 900.0
        generation, total = self._reserved
        if generation != (self.catalog.generation, reservations.version):
            generation = (self.catalog.generation, reservations.version)
            total = reservations.total(self.catalog)
            self._reserved = (generation, total)
        return rules.pool_for(function, reserved, self.account_limit, total), rules.lease_ttl_ms(timeout_s)

    @asynccontextmanager
    async def acquire(self, function: str, version: str) -> AsyncIterator[Instance]:
        pool, ttl_ms = self.pool(function)
        lease = os.urandom(8).hex()
        leased = await self._acquire(pool, lease, ttl_ms)
        try:
            async with self.provider.acquire(function, version) as instance:
                yield instance
        finally:
            if leased:
                # Not awaited: the answer need not wait for Redis. The release is queued on the link's one
                # connection before this replica's next acquire (Redis runs them in order), so a client
                # calling again after the answer finds its slot free.
                task = asyncio.ensure_future(self._release(pool, lease))
                self._releasing.add(task)
                task.add_done_callback(self._releasing.discard)

    async def _acquire(self, pool: rules.Pool, lease: str, ttl_ms: int) -> bool:
        """True when leased, False when Redis could not be asked (the call runs uncounted)."""
        if pool.limit <= 0:
            raise TooManyRequests(pool.message, pool.reason, rules.RETRY_AFTER_S)
        try:
            granted = await self.store.acquire(pool.key, lease, pool.limit, ttl_ms)
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return False
        if not granted:
            raise TooManyRequests(pool.message, pool.reason, rules.RETRY_AFTER_S)
        return True

    async def _release(self, pool: rules.Pool, lease: str) -> None:
        try:
            await self.store.release(pool.key, lease)
        except (RedisError, OSError) as exc:  # the lease expires on its own
            self._warn(exc)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("concurrency leases unavailable (Redis: %s); invocations run uncounted", exc)
