"""A lean HTTP/1.1 server (asyncio protocol + ``httptools`` parser) for the partition's internal protocol.

The partition answers small JSON requests from one router over keep-alive connections, so it needs
no web framework: parse, call ``handler(method, path, body) -> (status, body)``, write the answer.

Pipelining: each request's handler starts as soon as the request is parsed (eagerly, without a Task:
:mod:`.eager`), so pipelined writes reach the group-commit writer together and share one commit.
Answers go out strictly in request order; the ones that are ready are coalesced into one
``transport.write`` per ``data_received`` or loop iteration. Reading pauses while too many answers
are pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httptools

from kumo import platform_credential
from kumo.listeners import ConnectionGuard, GuardedConnection, HeadersTooLarge, declared_length
from kumo_tablestore.eager import run_eagerly

log = logging.getLogger(__name__)

#: ``handler(method, path, body) -> (status, body)``; it must not raise.
Handler = Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]

REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
#: Pause reading at this many unanswered requests on one connection; resume at half.
PAUSE_AT = 64


def response_bytes(status: int, body: bytes, content_type: str, keep_alive: bool = True) -> bytes:
    """One HTTP/1.1 response, head and body together (pure)."""
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    )
    if not keep_alive:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("latin-1") + body


class _Slot:
    """One request's place in the connection's answer order."""

    __slots__ = ("data", "keep_alive")

    def __init__(self, keep_alive: bool, data: bytes | None = None) -> None:
        self.keep_alive = keep_alive
        self.data = data


class HttpServerProtocol(asyncio.Protocol):
    """One client connection. ``too_large(limit)`` builds the answer to a body over ``max_body``.

    ``guard`` bounds the listener (:mod:`kumo.listeners`); with a ``credential``, requests without it
    in :data:`kumo.platform_credential.HEADER` are answered 403 (:mod:`kumo.platform_credential`),
    except ``GET`` of ``open_paths``.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        content_type: str,
        max_body: int,
        too_large: Callable[[int], bytes],
        guard: ConnectionGuard | None = None,
        credential: str | None = None,
        open_paths: frozenset[bytes] = frozenset(),
    ) -> None:
        self.handler = handler
        self.content_type = content_type
        self.max_body = max_body
        self.too_large = too_large
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []
        self._size = 0
        self._slots: deque[_Slot] = deque()  # unanswered requests, oldest first
        self._done = False  # a request asked to close, or was refused: read no more
        self._paused = False
        self._flush_soon = False
        self._in_feed = False
        self.guard = guard
        self.credential = credential
        self.open_paths = open_paths
        self._guarded: GuardedConnection | None = None
        self._presented: bytes | None = None
        self._declared: int | None = None
        self._head = 0
        self._max_head = guard.max_header_bytes if guard is not None else 1 << 62

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        if self.guard is not None:
            self._guarded = self.guard.open(transport)
            if self._guarded is None:
                self._done = True  # refused at the cap: answered and closing

    def connection_lost(self, exc: Exception | None) -> None:
        if self._guarded is not None:
            self._guarded.lost()
        self._slots.clear()
        self._done = True
        self.transport = None

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        self._in_feed = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, b'{"message":"upgrades are not supported"}')
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadersTooLarge):
                self._refuse(431, b'{"message":"request header fields too large"}')
            else:
                self._refuse(400, b'{"message":"malformed HTTP request"}')
        finally:
            self._in_feed = False
        self._flush()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._body, self._size = b"", [], 0
        self._presented = None
        self._declared: int | None = None
        self._head = 0
        if self._guarded is not None:
            self._guarded.begin()

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head += len(url)
        if self._head > self._max_head:
            raise HeadersTooLarge()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4
        if self._head > self._max_head:
            raise HeadersTooLarge()
        if len(name) == len(platform_credential.HEADER_LOWER) and name.lower() == platform_credential.HEADER_LOWER:
            self._presented = value
        elif len(name) == 14 and name.lower() == b"content-length":
            self._declared = declared_length(value)

    def on_headers_complete(self) -> None:
        if self._guarded is not None:
            self._guarded.headers_done()
        if not platform_credential.matches(self.credential, self._presented) and not self._open():
            self._refuse(403, b'{"message":"missing or invalid platform credential"}')
        elif self._declared is not None and self._declared > self.max_body:
            self._refuse(413, self.too_large(self.max_body))  # at once, without reading the body

    def _open(self) -> bool:
        """A ``GET`` of a path anyone may read (the kubelet's readiness probe carries no credential)."""
        return self.parser.get_method() == b"GET" and self._url.split(b"?", 1)[0] in self.open_paths

    def on_body(self, body: bytes) -> None:
        if self._done:
            return
        if self._guarded is not None:
            self._guarded.body_progress()
        self._size += len(body)
        if self._size > self.max_body:
            self._refuse(413, self.too_large(self.max_body))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._guarded is not None:
            self._guarded.message_done()
        if self._done or self.transport is None:
            return
        path = self._url.split(b"?", 1)[0].decode("latin-1")
        method = self.parser.get_method().decode("latin-1")
        slot = _Slot(self.parser.should_keep_alive())
        self._slots.append(slot)
        if not slot.keep_alive:
            self._done = True
        if len(self._slots) >= PAUSE_AT and not self._paused:
            self._paused = True
            self.transport.pause_reading()

        def done(answer: Any, error: BaseException | None) -> None:
            self._answered(slot, answer, error)

        run_eagerly(self.handler(method, path, b"".join(self._body)), done)

    # answering
    def _answered(self, slot: _Slot, answer: Any, error: BaseException | None) -> None:
        if error is not None:  # the handler must not raise; never leave the connection hanging if it does
            log.error("partition HTTP handler failed", exc_info=error)
            self._done = True
            self._slots.clear()
            if self.transport is not None:
                self.transport.close()
            return
        status, body = answer
        slot.data = response_bytes(status, body, self.content_type, slot.keep_alive)
        if self._in_feed:
            return  # data_received flushes once it has parsed everything
        if not self._flush_soon:
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Write every answer that is ready and not behind an unready one, in one write."""
        self._flush_soon = False
        transport = self.transport
        slots = self._slots
        if transport is None or not slots or slots[0].data is None:
            return
        ready: list[bytes] = []
        close = False
        while slots and slots[0].data is not None:
            slot = slots.popleft()
            ready.append(slot.data)  # type: ignore[arg-type]
            if not slot.keep_alive:
                close = True
                slots.clear()
                break
        if transport.is_closing():
            return
        transport.write(ready[0] if len(ready) == 1 else b"".join(ready))
        if self._guarded is not None:
            for _ in ready:
                self._guarded.answered()
        if close:
            transport.close()
        elif self._paused and len(slots) <= PAUSE_AT // 2:
            self._paused = False
            transport.resume_reading()

    def _refuse(self, status: int, body: bytes) -> None:
        """Answer ``status`` after the requests before it, then close; read nothing more."""
        if self._done:
            return
        self._done = True
        self._slots.append(_Slot(False, response_bytes(status, body, self.content_type, keep_alive=False)))
        if not self._in_feed:
            self._flush()
