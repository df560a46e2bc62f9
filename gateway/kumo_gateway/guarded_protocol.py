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
from kumo.listeners import HEADERS_TOO_LARGE, ConnectionGuard, GuardedConnection, refusal

INVALID_HOST = refusal(400, "Invalid Host header")


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the answer is in ``_refusal``."""


class GuardedProtocol(HttpToolsProtocol):
    guard: ConnectionGuard
    #: Hostnames served (``None``: any); see :mod:`kumo.allowed_hosts`.
    allowed_hosts: frozenset[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guarded: GuardedConnection | None = None
        self._refusal: bytes | None = None
        self._host: bytes | None = None
        self._head = 0  # bytes of the current request's head
        self._max_head = self.guard.max_header_bytes

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
        super().data_received(data)

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
        self._host = None
        self._head = 0
        if self._guarded is not None:
            self._guarded.begin()

    def _guard_headers_done(self) -> None:
        if self._guarded is not None:
            self._guarded.headers_done()
        if self.allowed_hosts is not None and not is_allowed(self._host, self.allowed_hosts):
            self._refuse(INVALID_HOST)

    # parser callbacks
    def on_message_begin(self) -> None:
        self._guard_begin()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head += len(url)
        if self._head > self._max_head:
            self._refuse(HEADERS_TOO_LARGE)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4
        if self._head > self._max_head:
            self._refuse(HEADERS_TOO_LARGE)
        if len(name) == 4 and name.lower() == b"host":
            self._host = value
        super().on_header(name, value)

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
        if self._guarded is not None:
            self._guarded.answered()
        super().on_response_complete()
