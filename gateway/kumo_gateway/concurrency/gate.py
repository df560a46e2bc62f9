"""The concurrency gate: a :class:`~kumo_gateway.provider.Provider` that takes a lease before the
wrapped provider's instance and gives it back after, so every invocation through the provider path
(the Invoke API, Api routes) is counted against the account limit and reserved concurrency."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
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


@dataclass
class Lease:
    """A lease taken before the invocation (with the usage-plan checks, in one script call) and handed
    to :meth:`ConcurrencyGate.acquire`; ``counted`` False: Redis could not be asked, the call runs
    uncounted. :meth:`release` is idempotent."""

    gate: ConcurrencyGate
    function: str
    pool: rules.Pool
    id: str
    counted: bool = True
    released: bool = False
    #: The gate has it: the gate gives it back when the invocation ends.
    handed: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            if self.counted:
                self.gate.release_soon(self.pool, self.id)


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

    def new_lease(self, function: str) -> tuple[Lease, int]:
        """A lease of ``function``'s pool, not taken yet, and its life (ms): for a caller that takes it
        together with other checks (:meth:`kumo_gateway.apigateway.limits.Limits.admit`)."""
        pool, ttl_ms = self.pool(function)
        return Lease(self, function, pool, os.urandom(8).hex()), ttl_ms

    def refuse(self, pool: rules.Pool) -> TooManyRequests:
        return TooManyRequests(pool.message, pool.reason, rules.RETRY_AFTER_S)

    @asynccontextmanager
    async def acquire(self, function: str, version: str, lease: Lease | None = None) -> AsyncIterator[Instance]:
        """An instance of ``function`` under a lease: ``lease`` when one was taken already (it is given
        back here, whatever happens), else one taken now (429 when its pool is full)."""
        if lease is None or lease.function != function:
            if lease is not None:
                lease.release()
            pool, ttl_ms = self.pool(function)
            lease = Lease(self, function, pool, os.urandom(8).hex())
            lease.counted = await self._acquire(pool, lease.id, ttl_ms)
        lease.handed = True
        try:
            async with self.provider.acquire(function, version) as instance:
                yield instance
        finally:
            # Not awaited: the answer need not wait for Redis. The release rides on this replica's next
            # script call, ahead of its acquire (or goes alone within milliseconds), so a client calling
            # again after the answer finds its slot free.
            lease.release()

    def release_soon(self, pool: rules.Pool, lease: str) -> None:
        self.store.release_soon(pool.key, lease)

    async def _acquire(self, pool: rules.Pool, lease: str, ttl_ms: int) -> bool:
        """True when leased, False when Redis could not be asked (the call runs uncounted)."""
        if pool.limit <= 0:
            raise self.refuse(pool)
        try:
            granted = await self.store.acquire(pool.key, lease, pool.limit, ttl_ms)
        except (RedisError, OSError) as exc:
            self.warn(exc)
            return False
        if not granted:
            raise self.refuse(pool)
        return True

    def warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("concurrency leases unavailable (Redis: %s); invocations run uncounted", exc)
