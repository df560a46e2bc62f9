"""The interface between the gateway and whatever runs function instances (local processes, pods).

The gateway only ever asks a provider for an instance of a function version, invokes it once and
hands it back. Everything about starting, pooling, scaling and stopping instances is the provider's.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from kumo.runtime.invocation import Invocation, InvocationResult


class FunctionNotFound(Exception):
    """The provider does not know the function (or version) asked for."""


class TooManyRequests(Exception):
    """No capacity right now: maps to 429 ``TooManyRequestsException`` with a ``Retry-After`` header."""

    def __init__(
        self,
        message: str,
        reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded",
        retry_after_s: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.retry_after_s = retry_after_s


class InstanceUnavailable(Exception):
    """No instance could be had in time (e.g. waking from zero timed out, code unavailable)."""


class FunctionNotReady(InstanceUnavailable):
    """The function is not Active (Lambda's ``State``: ``Pending`` while created, ``Failed``)."""

    def __init__(self, state: str, reason: str | None = None) -> None:
        super().__init__(state)
        self.state = state
        #: Why (Lambda's ``StateReason``), told to the caller after the state.
        self.reason = reason


class Instance(Protocol):
    async def invoke(self, invocation: Invocation) -> InvocationResult: ...


class Provider(Protocol):
    def acquire(self, function: str, version: str) -> AbstractAsyncContextManager[Instance]:
        """Wait (bounded) for a free instance of ``function`` at ``version``, starting one if needed.

        The instance is released on exit, and discarded if ``result.instance_reusable`` was False.
        Raises :class:`FunctionNotFound`, :class:`TooManyRequests` or :class:`InstanceUnavailable`.
        """
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
