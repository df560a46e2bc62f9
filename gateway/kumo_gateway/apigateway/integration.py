"""Invoke a route's function within the route's integration timeout (API Gateway: 504 past it).

Past the timeout the client gets ``504 {"message": "Endpoint request timed out"}`` at once, but the
invocation is **not** cancelled: as on AWS, where the Lambda function runs on after API Gateway gave
up, it runs to its own end (bounded by the Function's ``timeout``) in a background task that keeps
holding the instance it acquired. So the provider never hands that busy instance to another request
(it stays acquired), nor loses it: when the invocation ends the instance is released exactly as after
any invocation, reused when the result allows it, discarded otherwise. Cancelling it instead would
kill the function midway (side effects half done) and throw away a warm instance.

Only a request still *waiting* for an instance (queued behind busy ones) is cancelled at the timeout:
nothing has run yet, so it just leaves the queue. The same holds when the request itself is cancelled.
Background invocations are bounded by the Function's timeout and stopped with the provider.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kumo.runtime.invocation import Invocation, InvocationResult
from kumo_gateway.apigateway.gateway_responses import HttpResponse, message_response
from kumo_gateway.provider import Provider

if TYPE_CHECKING:
    from kumo_gateway.concurrency.gate import Lease

log = logging.getLogger("kumo.gateway")

#: API Gateway HTTP APIs' default (and largest) integration timeout.
DEFAULT_TIMEOUT_S = 30.0


class IntegrationTimeout(Exception):
    """The function did not answer within the route's timeout (it keeps running)."""


def endpoint_timed_out() -> HttpResponse:
    """API Gateway's answer when the integration timed out."""
    return message_response(504, "Endpoint request timed out")


class Integration:
    """Runs invocations through ``provider`` with a timeout; keeps the ones that outlive it."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        #: Invocations whose request timed out (or went away), still running; strong references.
        self.background: set[asyncio.Task[InvocationResult]] = set()

    async def invoke(
        self, function: str, version: str, invocation: Invocation, timeout_s: float, lease: Lease | None = None
    ) -> InvocationResult:
        """The result, or :class:`IntegrationTimeout` after ``timeout_s``; provider errors propagate.
        ``lease``: a concurrency lease taken already (with the usage-plan checks), for the gate."""
        acquired = asyncio.Event()
        task = asyncio.create_task(self._run(function, version, invocation, acquired, lease))
        try:
            done, _ = await asyncio.wait((task,), timeout=timeout_s)
        except asyncio.CancelledError:
            self._let_go(task, acquired)
            raise
        if done:
            return task.result()
        self._let_go(task, acquired)
        raise IntegrationTimeout(f"function {function} did not answer within {timeout_s:g}s")

    async def _run(
        self, function: str, version: str, invocation: Invocation, acquired: asyncio.Event, lease: Lease | None
    ) -> InvocationResult:
        # Only the concurrency gate hands out leases, so a lease means the provider is the gate.
        if lease is not None:
            held = self.provider.acquire(function, version, lease=lease)  # type: ignore[call-arg]
        else:
            held = self.provider.acquire(function, version)
        async with held as instance:
            acquired.set()
            return await instance.invoke(invocation)

    def _let_go(self, task: asyncio.Task[InvocationResult], acquired: asyncio.Event) -> None:
        if not acquired.is_set():
            task.cancel()  # still waiting for an instance: nothing ran, leave the queue
        self.background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[InvocationResult]) -> None:
        self.background.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.warning("an invocation that outlived its route's timeout failed: %r", error)
