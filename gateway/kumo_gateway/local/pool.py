"""A pool of instances of one function version: cold starts, warm reuse, queueing, scale to zero."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import Protocol

from kumo.scaling.decisions import Admission, IdleInstance, PoolLimits, admit, instances_to_stop, reap_interval

log = logging.getLogger("kumo.local")


class Host(Protocol):
    """What the pool needs of an instance (``kumo.runtime.host.RuntimeHost`` provides it)."""

    instance_id: str

    @property
    def alive(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class PoolThrottled(Exception):
    """No instance could be had: the pool is at its limit and the wait queue is full or timed out."""


class InstancePool:
    """Instances of one function version, one invocation per instance at a time (Lambda semantics).

    ``acquire`` hands out an idle instance, starts a new one (returning it at once: the invocation
    waits for its init), or queues the caller; ``release`` gives the instance to the oldest waiter
    or parks it idle. A reaper task stops instances idle for longer than the idle timeout.
    """

    def __init__(self, name: str, host_factory: Callable[[], Host], limits: PoolLimits) -> None:
        self.name = name
        self.limits = limits
        self._host_factory = host_factory
        self._idle: collections.OrderedDict[str, tuple[Host, float]] = collections.OrderedDict()
        self._busy: dict[str, Host] = {}
        self._waiters: collections.deque[asyncio.Future[Host]] = collections.deque()
        self._stopping: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        #: Set by ``drain``: no new work, instances stop as they come free; ``_drained`` when none is left.
        self._draining = False
        self._drained = asyncio.Event()
        #: Counters for tests, benchmarks and logs.
        self.cold_starts = 0

    @property
    def total(self) -> int:
        return len(self._idle) + len(self._busy)

    @property
    def busy(self) -> int:
        return len(self._busy)

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def start(self) -> None:
        """Start the reaper and any ``min_instances`` instances (provisioned, warm)."""
        self._ensure_reaper()
        for _ in range(self.limits.min_instances - self.total):
            self.release(await self._start_busy(), reusable=True)

    async def acquire(self) -> Host:
        if self._closed or self._draining:
            raise PoolThrottled(f"function {self.name} is shutting down")
        self._ensure_reaper()
        while True:
            decision = admit(idle=self.idle, total=self.total, waiting=len(self._waiters), limits=self.limits)
            if decision is Admission.USE_IDLE:
                # Most recently used first, so the others stay idle long enough to be reaped.
                instance_id, (host, _) = self._idle.popitem(last=True)
                if not host.alive:
                    self._discard(host)
                    continue
                self._busy[instance_id] = host
                return host
            if decision is Admission.START:
                return await self._start_busy()
            if decision is Admission.WAIT:
                return await self._wait()
            raise PoolThrottled(
                f"Rate Exceeded: function {self.name} is at its maximum of {self.limits.max_instances} "
                f"concurrent instances and {len(self._waiters)} queued requests"
            )

    def release(self, host: Host, *, reusable: bool) -> None:
        self._busy.pop(host.instance_id, None)
        if self._closed or not reusable or not host.alive:
            self._discard(host)
            self._serve_waiters_with_new_instances()
            self._check_drained()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._busy[host.instance_id] = host
                waiter.set_result(host)
                return
        if self._draining:
            log.info("function %s: instance %s finished, stopping (replaced)", self.name, host.instance_id)
            self._discard(host)
            self._check_drained()
            return
        self._idle[host.instance_id] = (host, time.monotonic())

    async def drain(self) -> None:
        """Retire this pool (its function was edited or removed): stop idle instances now, let busy ones
        finish their invocations (and hand over to requests already queued here), stop each as it comes
        free, then stop the pool. New requests must go to another pool: ``acquire`` refuses from now on."""
        self._draining = True
        for instance_id, (host, _) in self._idle.items():
            log.info("function %s: instance %s idle, stopping (replaced)", self.name, instance_id)
            self._discard(host)
        self._idle.clear()
        self._check_drained()
        await self._drained.wait()
        await self.stop()

    def _check_drained(self) -> None:
        if self._draining and not self._busy and all(w.done() for w in self._waiters):
            self._drained.set()

    async def stop(self) -> None:
        """Stop every instance and fail every waiter; idempotent."""
        self._closed = True
        self._drained.set()
        if self._reaper:
            self._reaper.cancel()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(PoolThrottled(f"function {self.name} is shutting down"))
        self._waiters.clear()
        hosts = [h for h, _ in self._idle.values()] + list(self._busy.values())
        self._idle.clear()
        self._busy.clear()
        await asyncio.gather(*(h.stop() for h in hosts), return_exceptions=True)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)

    async def reap(self, now: float | None = None) -> list[str]:
        """Stop instances idle for longer than the idle timeout; returns their ids."""
        now = time.monotonic() if now is None else now
        idle = [IdleInstance(i, since) for i, (_, since) in self._idle.items()]
        victims = instances_to_stop(idle, total=self.total, now=now, limits=self.limits)
        for instance_id in victims:
            host, _ = self._idle.pop(instance_id)
            log.info("function %s: instance %s idle, stopping (scale down)", self.name, instance_id)
            self._discard(host)
        # Dead idle instances (crashed while parked) are removed too.
        for instance_id, (host, _) in list(self._idle.items()):
            if not host.alive:
                del self._idle[instance_id]
                self._discard(host)
        return victims

    def _ensure_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._reap_forever(), name=f"reaper:{self.name}")

    async def _reap_forever(self) -> None:
        interval = reap_interval(self.limits.idle_timeout_s)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap()
            except Exception:  # a reaper must not die
                log.exception("function %s: reaping failed", self.name)

    def _reserve(self) -> Host:
        """Create an instance and count it as busy at once, so concurrent starts respect the limit."""
        host = self._host_factory()
        self._busy[host.instance_id] = host
        self.cold_starts += 1
        log.info("function %s: starting instance %s (cold start)", self.name, host.instance_id)
        return host

    async def _start_reserved(self, host: Host) -> Host:
        try:
            await host.start()
        except BaseException:
            self._busy.pop(host.instance_id, None)
            self._discard(host)
            raise
        return host

    async def _start_busy(self) -> Host:
        return await self._start_reserved(self._reserve())

    async def _wait(self) -> Host:
        waiter: asyncio.Future[Host] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), self.limits.queue_timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed an instance just as we gave up: give it back.
                self.release(waiter.result(), reusable=True)
            else:
                waiter.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                self._check_drained()
            if isinstance(exc, TimeoutError):
                raise PoolThrottled(
                    f"Rate Exceeded: no instance of {self.name} became free within {self.limits.queue_timeout_s:g}s"
                ) from None
            raise

    def _serve_waiters_with_new_instances(self) -> None:
        """After an instance is discarded, capacity is free: start instances for queued waiters."""
        while self._waiters and self.total < self.limits.max_instances:
            waiter = self._waiters.popleft()
            if waiter.done():
                continue
            task = asyncio.create_task(self._start_for(waiter, self._reserve()))
            self._stopping.add(task)  # tracked so stop() awaits it
            task.add_done_callback(self._stopping.discard)

    async def _start_for(self, waiter: asyncio.Future[Host], host: Host) -> None:
        try:
            await self._start_reserved(host)
        except Exception as exc:
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if waiter.done():
            self.release(host, reusable=True)
        else:
            waiter.set_result(host)

    def _discard(self, host: Host) -> None:
        task = asyncio.create_task(host.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)
