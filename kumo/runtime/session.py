"""The state behind the Runtime API of one instance: init, the pending event, its outcome.

No HTTP and no processes here: :mod:`kumo.runtime.runtime_api` maps requests onto these methods
and :class:`kumo.runtime.host.RuntimeHost` drives them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kumo.runtime import failures
from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, Invocation, error_payload


@dataclass
class Outcome:
    """How an invocation ended, before the host adds logs and timings."""

    payload: bytes
    function_error: str | None = None
    reusable: bool = True


@dataclass
class ActiveInvocation:
    """An invocation from ``submit`` until its outcome is known."""

    invocation: Invocation
    timeout_s: float
    outcome: asyncio.Future[Outcome]
    handed_out: asyncio.Future[float]  # monotonic time the runtime received it
    deadline_ms: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        return self.invocation.request_id

    def finish(self, outcome: Outcome) -> bool:
        """Set the outcome unless one is already set; True if this call set it."""
        if self.outcome.done():
            return False
        self.outcome.set_result(outcome)
        return True


class RequestError(Exception):
    """A Runtime API call the host refuses: ``status`` plus a Lambda-shaped body."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()


def function_error_body(body: bytes, error_type: str | None) -> bytes:
    """The runtime's error object passed through; wrapped only when it is not a JSON object."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        return body
    text = body.decode("utf-8", "replace")
    return error_payload(error_type or "Runtime.Unknown", text)


class RuntimeSession:
    """One runtime's conversation with the host. ``sync_output`` drains the child's pipe."""

    def __init__(self, sync_output: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self._sync_output = sync_output
        #: ``None`` once the runtime asked for its first event; an error payload after ``/init/error``.
        self.init_result: asyncio.Future[bytes | None] = loop.create_future()
        self.init_done_at: float | None = None
        self._active: ActiveInvocation | None = None
        self._pending: ActiveInvocation | None = None
        self._waiter: asyncio.Future[ActiveInvocation | None] | None = None
        self._closed = False

    # -- host side -------------------------------------------------------------------------
    def submit(self, invocation: Invocation, timeout_s: float) -> ActiveInvocation:
        loop = asyncio.get_running_loop()
        active = ActiveInvocation(invocation, timeout_s, loop.create_future(), loop.create_future())
        self._active = active
        if self._waiter is not None and not self._waiter.done():
            self._hand_out(active)
            self._waiter.set_result(active)
        else:
            self._pending = active
        return active

    def close(self) -> None:
        """Release any runtime blocked in ``/next``."""
        self._closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- runtime side (called by the HTTP handlers) -----------------------------------------
    async def next_event(self) -> ActiveInvocation | None:
        """Block until an event is there (``None`` when the session closes)."""
        if not self.init_result.done():
            self.init_done_at = time.monotonic()
            self.init_result.set_result(None)
        if self._closed:
            return None
        if self._pending is not None:
            active, self._pending = self._pending, None
            self._hand_out(active)
            return active
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.get_running_loop().create_future()
        return await self._waiter

    def _hand_out(self, active: ActiveInvocation) -> None:
        active.deadline_ms = int(time.time() * 1000 + active.timeout_s * 1000)
        if not active.handed_out.done():
            active.handed_out.set_result(time.monotonic())

    def _current(self, request_id: str) -> ActiveInvocation:
        active = self._active
        if active is None or active.request_id != request_id or active.outcome.done():
            raise RequestError(400, "InvalidRequestID", f"Invalid request ID: {request_id}")
        return active

    def respond(self, request_id: str, body: bytes) -> None:
        active = self._current(request_id)
        if len(body) > MAX_SYNC_PAYLOAD:
            self.respond_too_large(request_id, len(body))
        self._sync_output()
        active.finish(Outcome(body))

    def respond_too_large(self, request_id: str, size: int) -> None:
        """The response exceeded 6 MB: the invocation fails, the runtime gets 413."""
        active = self._current(request_id)
        self._sync_output()
        active.finish(Outcome(failures.response_too_large(size), "Unhandled"))
        raise RequestError(413, "RequestEntityTooLarge", f"Response payload exceeded {MAX_SYNC_PAYLOAD} bytes")

    def fail(self, request_id: str, body: bytes, error_type: str | None) -> None:
        active = self._current(request_id)
        self._sync_output()
        active.finish(Outcome(function_error_body(body, error_type), "Unhandled"))

    def init_error(self, body: bytes, error_type: str | None) -> None:
        self._sync_output()
        payload = function_error_body(body, error_type)
        if not self.init_result.done():
            self.init_result.set_result(payload)
        elif self._active is not None:  # init/error after init: fail what is running
            self._active.finish(Outcome(payload, "Unhandled", reusable=False))
