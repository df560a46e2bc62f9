"""Reserved concurrency set through the Lambda API (``PutFunctionConcurrency``): a Redis hash
``kumo:concurrency:reserved`` (function name -> reservation) shared by every gateway replica, overriding
the manifest's ``spec.concurrency.reserved``. Each gateway keeps a copy that it re-reads at most every
:data:`REFRESH_S` (in the background: an invocation never waits for it), so a change made on one replica
is enforced by all within about a second (at once on the replica that made it)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from kumo.catalog import Catalog
from kumo_gateway.concurrency.rules import POOL_KEY_PREFIX, reserved_total

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("kumo.gateway.concurrency")

RESERVED_KEY = POOL_KEY_PREFIX + "reserved"
#: How stale the local copy may get (seconds).
REFRESH_S = 1.0


class Reservations:
    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis
        self.overrides: dict[str, int] = {}
        #: Bumped whenever ``overrides`` changes (the gate re-sums reservations then).
        self.version = 0
        self._loaded_at = float("-inf")
        self._refreshing: asyncio.Task[None] | None = None

    def effective(self, name: str, manifest: int | None) -> int | None:
        """The reservation the gate enforces: the API's, else the manifest's."""
        return self.overrides.get(name, manifest)

    def total(self, catalog: Catalog) -> int:
        """Every function's effective reservation, summed."""
        return reserved_total(self.effective(f.metadata.name, f.spec.concurrency.reserved) for f in catalog.functions())

    def others(self, catalog: Catalog, name: str) -> int:
        return self.total(catalog) - (self.effective(name, _manifest(catalog, name)) or 0)

    def refresh_soon(self) -> None:
        """Re-read the hash in the background when the copy is older than :data:`REFRESH_S`."""
        if self.redis is None or time.monotonic() - self._loaded_at < REFRESH_S:
            return
        if self._refreshing is None or self._refreshing.done():
            self._loaded_at = time.monotonic()
            self._refreshing = asyncio.ensure_future(self._refresh_quietly())

    async def refresh(self) -> None:
        if self.redis is None:
            return
        raw = await self.redis.hgetall(RESERVED_KEY)
        self._loaded_at = time.monotonic()
        self._set({_text(k): int(v) for k, v in raw.items()})

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh()
        except Exception as exc:  # the copy stays as it was
            log.debug("reading reserved concurrency failed: %s", exc)

    async def put(self, name: str, value: int) -> None:
        assert self.redis is not None
        await self.redis.hset(RESERVED_KEY, name, value)
        self._set({**self.overrides, name: value})

    async def delete(self, name: str) -> bool:
        assert self.redis is not None
        removed = bool(await self.redis.hdel(RESERVED_KEY, name))
        self._set({k: v for k, v in self.overrides.items() if k != name})
        return removed

    def _set(self, overrides: dict[str, int]) -> None:
        if overrides != self.overrides:
            self.overrides = overrides
            self.version += 1


def _manifest(catalog: Catalog, name: str) -> int | None:
    function = catalog.function(name)
    return function.spec.concurrency.reserved if function is not None else None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
