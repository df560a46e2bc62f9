"""Bounded resources for every Kumo listener: timeouts, a connection cap, a header size limit.

Every HTTP server Kumo runs (the gateway on uvicorn and its fast lane, partition servers, Runtime API
servers, the pod's invoke endpoint) keeps one :class:`ConnectionGuard` per listener and tells it what
each connection is doing (:class:`GuardedConnection`). The guard enforces:

- a **header timeout**: a request's head (request line and headers) must arrive within
  ``header_timeout_s`` of its first byte; a fresh connection must start a request within it too;
- a **body timeout**: a request body that makes no progress for ``body_timeout_s`` is cut off
  (like nginx's ``client_body_timeout``: the time between two reads, not the whole upload);
- a **keep-alive timeout**: a connection with nothing in flight is closed after ``keepalive_timeout_s``;
- a **connection cap**: at ``max_connections``, a new connection first closes the longest-idle one
  (idle = nothing in flight, including connections that never sent a byte); only when none is idle
  is the new one refused with a 503;
- a **header size limit**: a head over ``max_header_bytes`` is answered 431.

No timer per connection: each connection keeps a deadline and one sweep per listener, every quarter
of the shortest timeout (at most once a second), closes the connections past theirs. The sweep only
runs while the listener has connections.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Environment variables read by :meth:`ListenerLimits.from_env`.
ENV_HEADER_TIMEOUT = "KUMO_HEADER_TIMEOUT"
ENV_BODY_TIMEOUT = "KUMO_BODY_TIMEOUT"
ENV_KEEPALIVE_TIMEOUT = "KUMO_KEEPALIVE_TIMEOUT"
ENV_INTERNAL_KEEPALIVE_TIMEOUT = "KUMO_INTERNAL_KEEPALIVE_TIMEOUT"
ENV_MAX_CONNECTIONS = "KUMO_MAX_CONNECTIONS"
ENV_MAX_HEADER_BYTES = "KUMO_MAX_HEADER_BYTES"

#: Keep-alive of public listeners (the gateway): what uvicorn and most proxies use.
PUBLIC_KEEPALIVE_S = 5.0
#: Keep-alive of internal listeners (partition servers, invoke endpoints, Runtime APIs): their
#: clients are Kumo's own keep-alive pools, which must not see pooled connections cut under them.
INTERNAL_KEEPALIVE_S = 900.0

_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """The bounds of one listener (all positive)."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    keepalive_timeout_s: float = PUBLIC_KEEPALIVE_S
    max_connections: int = 1024
    max_header_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "body_timeout_s", "keepalive_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        for name in ("max_connections", "max_header_bytes"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, internal: bool = False) -> ListenerLimits:
        """Limits from ``KUMO_*`` variables (unset = default); ``internal`` picks the long keep-alive.

        Raises ``ValueError`` naming the variable when a value is not a positive number.
        """
        env = os.environ if environ is None else environ
        keepalive_var = ENV_INTERNAL_KEEPALIVE_TIMEOUT if internal else ENV_KEEPALIVE_TIMEOUT
        keepalive_default = INTERNAL_KEEPALIVE_S if internal else PUBLIC_KEEPALIVE_S
        return cls(
            header_timeout_s=_number(env, ENV_HEADER_TIMEOUT, 10.0, float),
            body_timeout_s=_number(env, ENV_BODY_TIMEOUT, 10.0, float),
            keepalive_timeout_s=_number(env, keepalive_var, keepalive_default, float),
            max_connections=_number(env, ENV_MAX_CONNECTIONS, 1024, int),
            max_header_bytes=_number(env, ENV_MAX_HEADER_BYTES, 64 * 1024, int),
        )

    @property
    def sweep_interval_s(self) -> float:
        shortest = min(self.header_timeout_s, self.body_timeout_s, self.keepalive_timeout_s)
        return min(1.0, max(0.02, shortest / 4))


def _number(env: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a positive number, not {raw!r}") from None
    if not value > 0 or (kind is float and not math.isfinite(value)):
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return value


def refusal(status: int, message: str, *, content_type: str = "application/json") -> bytes:
    """A complete ``Connection: close`` answer with ``{"message": ...}`` (pure)."""
    body = json.dumps({"message": message}).encode()
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def declared_length(value: bytes | str | None) -> int | None:
    """A ``Content-Length`` value as an int, ``None`` when absent or not a plain number (pure)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    return int(text) if text.isdigit() else None


TOO_MANY_CONNECTIONS = refusal(503, "Too many connections")
HEADERS_TOO_LARGE = refusal(431, "Request header fields too large")


class HeadersTooLarge(Exception):
    """Raised from a parser callback when a request head passes ``max_header_bytes``."""


class GuardedConnection:
    """What the guard knows of one connection; the protocol calls these at each step of a request.

    A request pipelined behind unanswered ones has no read deadline: the server may have paused
    reading until the earlier ones are answered; its deadline starts when it is the oldest.
    """

    __slots__ = ("_guard", "deadline", "head_done", "header_bytes", "in_message", "messages", "pending", "transport")

    def __init__(self, guard: ConnectionGuard, transport: asyncio.BaseTransport) -> None:
        self._guard = guard
        self.transport = transport
        self.deadline = guard.now() + guard.limits.header_timeout_s  # a fresh connection must start a request
        self.header_bytes = 0
        self.in_message = False
        self.head_done = False
        self.pending = 0  # requests begun and not answered yet
        self.messages = 0  # requests begun so far

    def _read_deadline(self) -> None:
        if self.pending > 1:
            self.deadline = math.inf
        else:
            guard = self._guard
            self.deadline = guard.now() + (guard.body_timeout_s if self.head_done else guard.header_timeout_s)

    def begin(self) -> None:
        """A request's first byte was parsed."""
        idle = self._guard.idle
        if self in idle:
            del idle[self]
        self.in_message = True
        self.head_done = False
        self.messages += 1
        self.pending += 1
        self.header_bytes = 0
        self._read_deadline()

    def head_bytes(self, count: int) -> None:
        """Count request-line or header bytes; raises :class:`HeadersTooLarge` past the limit."""
        self.header_bytes += count
        if self.header_bytes > self._guard.limits.max_header_bytes:
            raise HeadersTooLarge()

    def headers_done(self) -> None:
        if self.in_message:
            self.head_done = True
            self._read_deadline()

    def body_progress(self) -> None:
        if self.in_message:
            self._read_deadline()

    def message_done(self) -> None:
        """The request is fully read; no read timeout while it is being answered."""
        self.in_message = False
        self.deadline = math.inf
        if self.pending == 0:
            self._idle()

    def answered(self) -> None:
        """One answer was written; the connection is idle once nothing else is in flight."""
        if self.pending > 0:
            self.pending -= 1
        if self.in_message:
            if self.pending <= 1:
                self._read_deadline()  # the request being read is now the oldest
        elif self.pending == 0:
            self._idle()

    def _idle(self) -> None:
        guard = self._guard
        if self in guard.connections:
            self.deadline = guard.now() + guard.limits.keepalive_timeout_s
            guard.idle.pop(self, None)
            guard.idle[self] = None  # most recently idle last

    def lost(self) -> None:
        self._guard.forget(self)


class ConnectionGuard:
    """The connections of one listener, their deadlines and the cap."""

    def __init__(self, limits: ListenerLimits) -> None:
        self.limits = limits
        self.header_timeout_s = limits.header_timeout_s
        self.body_timeout_s = limits.body_timeout_s
        #: For protocols that count head bytes themselves (cheaper than :meth:`GuardedConnection.head_bytes`).
        self.max_header_bytes = limits.max_header_bytes
        self.connections: dict[GuardedConnection, None] = {}
        self.idle: dict[GuardedConnection, None] = {}  # oldest idle first
        self.by_transport: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refused = 0
        self.evicted = 0
        self.expired = 0

    def now(self) -> float:
        loop = self._loop
        return loop.time() if loop is not None else asyncio.get_running_loop().time()

    def open(self, transport: asyncio.BaseTransport) -> GuardedConnection | None:
        """Track a new connection; at the cap close the longest-idle one, else refuse with a 503.

        Returns ``None`` when refused (the answer is written and the transport closing).
        """
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.now = self._loop.time  # type: ignore[method-assign]
        if len(self.connections) >= self.limits.max_connections:
            if self.idle:
                victim = next(iter(self.idle))
                self.forget(victim)
                self.evicted += 1
                victim.transport.close()
            else:
                self.refused += 1
                transport.write(TOO_MANY_CONNECTIONS)  # type: ignore[attr-defined]
                transport.close()
                return None
        connection = GuardedConnection(self, transport)
        self.connections[connection] = None
        self.by_transport[transport] = connection
        self.idle[connection] = None
        if self._timer is None:
            self._timer = self._loop.call_later(self.limits.sweep_interval_s, self._sweep)
        return connection

    def forget(self, connection: GuardedConnection) -> None:
        self.connections.pop(connection, None)
        self.idle.pop(connection, None)
        self.by_transport.pop(connection.transport, None)

    def _sweep(self) -> None:
        self._timer = None
        now = self.now()
        for connection in [c for c in self.connections if c.deadline <= now]:
            self.forget(connection)
            self.expired += 1
            connection.transport.close()
        if self.connections and self._loop is not None and not self._loop.is_closed():
            self._timer = self._loop.call_later(self.limits.sweep_interval_s, self._sweep)

    def close(self) -> None:
        """Stop sweeping (the listener is closing)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
