"""uvicorn's httptools protocol with the listener bounds of :mod:`kumo.listeners` and the Host allow-list.

uvicorn has a keep-alive timeout but no header or body read timeout, no header size limit for
httptools and only a 503-per-request concurrency limit; this protocol adds them in one place, so they
hold for the ASGI app and for the fast lane (:mod:`kumo_gateway.fast_lane`, a subclass) alike.
The class attributes are set per server by :func:`kumo_gateway.server.server_config`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from kumo.allowed_hosts import is_allowed
from kumo.listeners import HEADERS_TOO_LARGE, ConnectionGuard, GuardedConnection, declared_length, refusal

INVALID_HOST = refusal(400, "Invalid Host header")


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the answer is in ``_refusal``."""


class GuardedProtocol(HttpToolsProtocol):
    """Head size: a head arriving over several reads is counted read by read (so httptools never
    buffers much more than the limit); the complete head is measured once in ``on_headers_complete``
    (no Python callback per header beyond uvicorn's own)."""

    guard: ConnectionGuard
    #: Hostnames served (``None``: any); see :mod:`kumo.allowed_hosts`.
    allowed_hosts: frozenset[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guarded: GuardedConnection | None = None
        self._refusal: bytes | None = None
        self._head = 0  # bytes of the current head received in reads after the one it began in
        self._max_head = self.guard.max_header_bytes
        self._host_ok: bytes | None = None  # the last Host value found allowed on this connection
        #: ``Content-Length`` of the current request (``None``: absent or not a number).
        self.declared_length: int | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._guarded = self.guard.open(transport)
        if self._guarded is None:
            self._refusal = b""  # already answered by the guard: read nothing

    def connection_lost(self, exc: Exception | None) -> None:
        if self._guarded is not None:
            self._guarded.lost()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        guarded = self._guarded
        mark = guarded.messages if guarded is not None and guarded.in_message and not guarded.head_done else -1
        super().data_received(data)
        if mark < 0 or self._refusal is not None:
            return
        if guarded.in_message and not guarded.head_done and guarded.messages == mark:  # type: ignore[union-attr]
            self._head += len(data)  # all of this read was head
            if self._head > self._max_head and not self.transport.is_closing():
                self._refusal = b""
                self.transport.write(HEADERS_TOO_LARGE)
                self.transport.close()

    def send_400_response(self, msg: str) -> None:
        refused = self._refusal
        if refused is None:
            super().send_400_response(msg)
            return
        if refused:
            self.transport.write(refused)
        self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._refusal = answer
        raise _Refused()

    # guard steps, for subclasses that replace a callback without calling this class's version
    def _guard_begin(self) -> None:
        self._head = 0
        if self._guarded is not None:
            self._guarded.begin()

    def _guard_headers_done(self) -> None:
        if self._guarded is not None:
            self._guarded.headers_done()
        size = len(self.url)
        host = declared = None
        for name, value in self.headers:
            size += len(name) + len(value) + 4
            if name == b"host":
                host = value
            elif name == b"content-length":
                declared = value
        if size > self._max_head:
            self._refuse(HEADERS_TOO_LARGE)
        self.declared_length = declared_length(declared)
        if self.allowed_hosts is not None and (host is None or host != self._host_ok):
            if not is_allowed(host, self.allowed_hosts):
                self._refuse(INVALID_HOST)
            self._host_ok = host

    # parser callbacks
    def on_message_begin(self) -> None:
        self._guard_begin()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._guard_headers_done()
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._guarded is not None:
            self._guarded.body_progress()
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._guarded is not None:
            self._guarded.message_done()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """uvicorn's, without its keep-alive timer per response: the guard closes idle connections."""
        if self._guarded is not None:
            self._guarded.answered()
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:  # start a request pipelined behind this one
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
