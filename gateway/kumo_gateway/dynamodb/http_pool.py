"""A lean HTTP/1.1 keep-alive client (asyncio protocol + ``httptools`` parser) for partition servers.

The router sends small JSON requests to a handful of known endpoints, so it needs none of a general
client's machinery (cookies, redirects, proxies, compression): one write per request, one parser
per connection, and a bounded pool of idle connections per endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from functools import lru_cache
from urllib.parse import urlsplit

import httptools


class ConnectionFailed(Exception):
    """The endpoint could not be reached, closed the connection, or answered something unparsable."""


@lru_cache(maxsize=1024)
def split_url(url: str) -> tuple[str, int, str]:
    """``(host, port, path?query)`` of an ``http://`` URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ConnectionFailed(f"not an http:// URL: {url}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, parts.port or 80, path


def request_bytes(method: str, host: str, port: int, path: str, body: bytes | None, content_type: str) -> bytes:
    """One HTTP/1.1 keep-alive request, head and body together (pure)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if body is None:
        return (head + "\r\n").encode("latin-1")
    head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self.deadline = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionFailed(f"bad HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionFailed(f"connection closed: {exc or 'by the server'}"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, body = self._waiter, b"".join(self._body)
        self._waiter, self._body = None, []
        if not self.parser.should_keep_alive():
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), body))

    # use
    def send(self, data: bytes, deadline: float) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self._waiter is None
        self._waiter = asyncio.get_running_loop().create_future()
        self.deadline = deadline
        self.transport.write(data)
        return self._waiter

    def expire(self, now: float) -> None:
        """Fail the request in flight if its deadline has passed (the pool's watchdog calls this)."""
        if self._waiter is not None and now >= self.deadline:
            self._fail(TimeoutError())
            self.close()

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Endpoint:
    """The pool of one ``host:port``: idle connections and a limit on open ones."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.limit = limit
        self.open = 0  # connections handed out (busy)
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.idle: deque[_Connection] = deque()
        self.busy: set[_Connection] = set()
        self.retired = False

    async def acquire(self) -> None:
        """Wait for a free slot (at most ``limit`` requests in flight to this endpoint)."""
        while self.open >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            try:
                await waiter
            except BaseException:
                if not waiter.cancelled() and waiter.done():
                    self.release_next()
                raise
        self.open += 1

    def release(self) -> None:
        self.open -= 1
        self.release_next()

    def release_next(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def connection(self, connect_timeout_s: float) -> _Connection:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout_s):
                _, conn = await loop.create_connection(_Connection, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise ConnectionFailed(f"cannot connect to {self.host}:{self.port}: {exc or 'timeout'}") from None
        return conn


class HttpPool:
    """``await request(method, url, body)`` → ``(status, body)``; raises :class:`ConnectionFailed`."""

    def __init__(self, *, per_endpoint: int = 64, timeout_s: float = 30.0, connect_timeout_s: float = 2.0) -> None:
        self.per_endpoint = per_endpoint
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._endpoints: dict[tuple[str, int], _Endpoint] = {}
        self._watchdog: asyncio.Task[None] | None = None

    async def request(
        self, method: str, url: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        host, port, path = split_url(url)
        endpoint = self._endpoints.get((host, port))
        if endpoint is None:
            endpoint = self._endpoints[(host, port)] = _Endpoint(host, port, self.per_endpoint)
        data = request_bytes(method, host, port, path, body, content_type)
        await endpoint.acquire()
        try:
            conn = await endpoint.connection(self.connect_timeout_s)
            self._watch()
            loop = asyncio.get_running_loop()
            endpoint.busy.add(conn)
            try:
                answer = await conn.send(data, loop.time() + self.timeout_s)
            except BaseException as exc:
                conn.close()
                if isinstance(exc, TimeoutError):
                    raise ConnectionFailed(f"{method} {url}: no answer in {self.timeout_s} s") from None
                raise
            finally:
                endpoint.busy.discard(conn)
            if endpoint.retired:
                conn.close()
            elif not conn.closed:
                endpoint.idle.append(conn)
            return answer
        finally:
            endpoint.release()

    def _watch(self) -> None:
        """Start the timeout watchdog once (one timer for all requests instead of one per request)."""
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._expire_loop())

    async def _expire_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._endpoints:
            await asyncio.sleep(min(1.0, self.timeout_s / 4))
            now = loop.time()
            for endpoint in list(self._endpoints.values()):
                for conn in list(endpoint.busy):
                    conn.expire(now)

    async def close(self) -> None:
        """Close every idle connection (requests in flight finish on their own)."""
        for endpoint in self._endpoints.values():
            endpoint.retired = True
            while endpoint.idle:
                endpoint.idle.pop().close()
        self._endpoints.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
