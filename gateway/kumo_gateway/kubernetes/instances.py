"""One in-flight invocation per endpoint, with a bounded FIFO of waiting requests (Knative's breaker).

:class:`EndpointSlots` holds one function version's ready endpoints. ``try_take`` hands out a free
endpoint at once; ``wait`` queues the caller (bounded) until ``release`` or ``set_endpoints``
frees one. The choice of endpoint (:func:`pick_free`) is pure. No I/O here.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Collection, Sequence

from kumo_gateway.kubernetes.endpoints import Endpoint


class QueueFull(Exception):
    """Every endpoint is busy and the wait queue is at its limit."""


class WaitTimeout(Exception):
    """No endpoint became free within the wait bound."""


def pick_free(endpoints: Sequence[Endpoint], busy: Collection[Endpoint], down: Collection[Endpoint]) -> Endpoint | None:
    """The first endpoint (in slice order) that is neither busy nor marked down."""
    for endpoint in endpoints:
        if endpoint not in busy and endpoint not in down:
            return endpoint
    return None


class EndpointSlots:
    """The endpoints of one function version and who is using them."""

    def __init__(self, queue_limit: int = 100) -> None:
        self.queue_limit = queue_limit
        self.endpoints: tuple[Endpoint, ...] = ()
        self._busy: set[Endpoint] = set()
        self._down: set[Endpoint] = set()
        self._waiters: collections.deque[asyncio.Future[Endpoint]] = collections.deque()

    @property
    def inflight(self) -> int:
        return len(self._busy)

    @property
    def waiting(self) -> int:
        return sum(1 for waiter in self._waiters if not waiter.done())

    @property
    def usable(self) -> int:
        """Endpoints that are ready and not marked down (busy or not)."""
        return sum(1 for endpoint in self.endpoints if endpoint not in self._down)

    def set_endpoints(self, endpoints: Sequence[Endpoint]) -> None:
        """A new EndpointSlice view: clears 'down' marks and serves waiters with free endpoints."""
        self.endpoints = tuple(endpoints)
        self._down.clear()
        self._serve_waiters()

    def mark_down(self, endpoint: Endpoint) -> None:
        """The endpoint refused a connection: skip it until the next EndpointSlice update."""
        self._down.add(endpoint)

    def try_take(self) -> Endpoint | None:
        """A free endpoint, now marked busy; ``None`` when every endpoint is busy (or there are none)."""
        endpoint = pick_free(self.endpoints, self._busy, self._down)
        if endpoint is not None:
            self._busy.add(endpoint)
        return endpoint

    def release(self, endpoint: Endpoint) -> None:
        """The invocation on ``endpoint`` finished: give it to the oldest waiter, or park it free."""
        self._busy.discard(endpoint)
        self._serve_waiters()

    async def wait(self, timeout_s: float) -> Endpoint:
        """Queue for an endpoint; raises :class:`QueueFull` or :class:`WaitTimeout`."""
        if self.waiting >= self.queue_limit:
            raise QueueFull(f"{self.waiting} requests are already waiting")
        waiter: asyncio.Future[Endpoint] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())  # handed an endpoint just as we gave up: give it back
            else:
                waiter.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise WaitTimeout(f"no endpoint became free within {timeout_s:g}s") from None
            raise

    async def acquire(self, timeout_s: float) -> Endpoint:
        """``try_take`` or, failing that, ``wait``."""
        endpoint = self.try_take()
        return endpoint if endpoint is not None else await self.wait(timeout_s)

    def fail_waiters(self, exc: BaseException) -> None:
        """Wake every waiter with ``exc`` (shutdown, function gone)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(exc)

    def _serve_waiters(self) -> None:
        while self._waiters:
            if self._waiters[0].done():
                self._waiters.popleft()
                continue
            endpoint = self.try_take()
            if endpoint is None:
                return
            self._waiters.popleft().set_result(endpoint)
