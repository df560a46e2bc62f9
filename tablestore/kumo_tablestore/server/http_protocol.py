"""A lean HTTP/1.1 server (asyncio protocol + ``httptools`` parser) for the partition's internal protocol.

The partition answers small JSON requests from one router over keep-alive connections, so it needs
no web framework: parse, call ``handler(method, path, body) -> (status, body)``, write the answer
in one write. Pipelined requests on one connection are answered in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import httptools

log = logging.getLogger(__name__)

#: ``handler(method, path, body) -> (status, body)``; it must not raise.
Handler = Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 500: "Internal Server Error"}
_PAUSE_AT = 16


def response_bytes(status: int, body: bytes, content_type: str, keep_alive: bool = True) -> bytes:
    """One HTTP/1.1 response, head and body together (pure)."""
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    )
    if not keep_alive:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("latin-1") + body


class HttpServerProtocol(asyncio.Protocol):
    """One client connection. ``too_large(limit)`` builds the answer to a body over ``max_body``."""

    def __init__(
        self, handler: Handler, *, content_type: str, max_body: int, too_large: Callable[[int], bytes]
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
        self._pending: deque[tuple[str, str, bytes, bool]] = deque()
        self._busy = False
        self._paused = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._pending.clear()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, b'{"message":"upgrades are not supported"}')
        except httptools.HttpParserError:
            self._refuse(400, b'{"message":"malformed HTTP request"}')

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._body, self._size = b"", [], 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self.max_body:
            self._refuse(413, self.too_large(self.max_body))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        path = self._url.split(b"?", 1)[0].decode("latin-1")
        method = self.parser.get_method().decode("latin-1")
        self._pending.append((method, path, b"".join(self._body), self.parser.should_keep_alive()))
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._serve())
        elif len(self._pending) >= _PAUSE_AT and not self._paused:
            self._paused = True
            self.transport.pause_reading()

    # answering
    async def _serve(self) -> None:
        try:
            while self._pending:
                method, path, body, keep_alive = self._pending.popleft()
                if self._paused and len(self._pending) < _PAUSE_AT // 2 and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                status, answer = await self.handler(method, path, body)
                transport = self.transport
                if transport is None or transport.is_closing():
                    return
                transport.write(response_bytes(status, answer, self.content_type, keep_alive))
                if not keep_alive:
                    transport.close()
                    return
        except Exception:  # the handler must not raise; never leave the connection hanging if it does
            log.exception("partition HTTP handler failed")
            if self.transport is not None:
                self.transport.close()
        finally:
            self._busy = False

    def _refuse(self, status: int, body: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response_bytes(status, body, self.content_type, keep_alive=False))
            self.transport.close()
