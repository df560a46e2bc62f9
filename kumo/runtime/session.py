"""The state behind the Runtime API of one instance: init, the pending event, its outcome.

No HTTP and no processes here: :mod:`kumo.runtime.runtime_server` maps requests onto these methods
and :class:`kumo.runtime.host.RuntimeHost` drives them. Everything is synchronous: a runtime blocked
in ``/next`` is a parked *receiver* (a callable that writes the HTTP answer), so handing out an event
costs no future, task or callback round trip.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kumo.runtime import failures
from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, Invocation, error_payload

#: Called with the event handed to a runtime in ``/next``, or ``None`` when the session closed.
Receiver = Callable[["ActiveInvocation | None"], None]


@dataclass(slots=True)
class Outcome:
    """How an invocation ended, before the host adds logs and timings."""

    payload: bytes
    function_error: str | None = None
    reusable: bool = True


@dataclass(slots=True)
class ActiveInvocation:
    """An invocation from ``submit`` until its outcome is known."""

    invocation: Invocation
    timeout_s: float
    outcome: asyncio.Future[Outcome]
    submitted_at: float  # monotonic
    handed_out_at: float | None = None  # monotonic time the runtime received it
    deadline_ms: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str:
        return self.invocation.request_id

    @property
    def started_at(self) -> float:
        """When the clock started: hand-out, or submission while the runtime has not asked yet."""
        return self.handed_out_at if self.handed_out_at is not None else self.submitted_at

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
    if body[:1] == b"{":
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
        self._loop = asyncio.get_running_loop()
        self._sync_output = sync_output
        #: ``None`` once the runtime asked for its first event; an error payload after ``/init/error``.
        self.init_result: asyncio.Future[bytes | None] = self._loop.create_future()
        self.init_done_at: float | None = None
        self._active: ActiveInvocation | None = None
        self._pending: ActiveInvocation | None = None
        self._receivers: list[Receiver] = []
        self._closed = False

    @property
    def active(self) -> ActiveInvocation | None:
        """The invocation submitted last (finished or not)."""
        return self._active

    # -- host side -------------------------------------------------------------------------
    def submit(self, invocation: Invocation, timeout_s: float) -> ActiveInvocation:
        active = ActiveInvocation(invocation, timeout_s, self._loop.create_future(), time.monotonic())
        self._active = active
        if self._receivers:
            self._hand_out(active, self._receivers.pop(0))
        else:
            self._pending = active
        return active

    def close(self) -> None:
        """Release every runtime blocked in ``/next`` (they get ``None``)."""
        self._closed = True
        receivers, self._receivers = self._receivers, []
        for receiver in receivers:
            receiver(None)

    # -- runtime side (called by the HTTP server) --------------------------------------------
    def request_next(self, receiver: Receiver) -> None:
        """``GET /next``: ``receiver`` is called with the event now, or once one is submitted."""
        if not self.init_result.done():
            self.init_done_at = time.monotonic()
            self.init_result.set_result(None)
        if self._closed:
            receiver(None)
        elif self._pending is not None:
            active, self._pending = self._pending, None
            self._hand_out(active, receiver)
        else:
            self._receivers.append(receiver)

    def cancel_next(self, receiver: Receiver) -> None:
        """The runtime's connection closed while it waited in ``/next``."""
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    def _hand_out(self, active: ActiveInvocation, receiver: Receiver) -> None:
        active.deadline_ms = int(time.time() * 1000 + active.timeout_s * 1000)
        active.handed_out_at = time.monotonic()
        receiver(active)

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
