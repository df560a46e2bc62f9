"""A lean pipelining HTTP/1.1 client (asyncio protocol + ``httptools`` parser) for partition servers.

:class:`~kumo_tablestore.partition_client.PartitionClient` speaks the partition protocol over it.

The router sends small JSON requests to a handful of known endpoints, so it needs none of a general
client's machinery (cookies, redirects, proxies, compression). Each endpoint gets a few keep-alive
connections; requests are *pipelined* on them (written back to back, answered in order), and all
the requests queued on a connection during one event-loop iteration go out in one write. Under
load that turns one send and one receive per request on each side into one per batch, which is
most of the cost of a small request. Partition servers process pipelined requests concurrently
(writes still share a group commit) and answer in order.

Requests are spread over the endpoint's connections by load; a caller may name a ``lane`` (the
router uses one for writes) so that reads are never queued behind a write's fsync.
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


def request_bytes(
    method: str, host: str, port: int, path: str, body: bytes | None, content_type: str, extra_head: str = ""
) -> bytes:
    """One HTTP/1.1 keep-alive request, head and body together (pure); ``extra_head``: more header lines."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra_head}"
    if body is None:
        return (head + "\r\n").encode("latin-1")
    head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection with any number of pipelined requests in flight (answered in order)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.waiters: deque[tuple[asyncio.Future[tuple[int, bytes]], float]] = deque()
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail_all(ConnectionFailed(f"bad HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail_all(ConnectionFailed(f"connection closed: {exc or 'by the server'}"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body = []
        if self.waiters:
            waiter, _ = self.waiters.popleft()
            if not waiter.done():  # a cancelled caller's answer is read and dropped
                waiter.set_result((self.parser.get_status_code(), body))
        if not self.parser.should_keep_alive():
            self.close()

    # use
    def send(self, data: bytes, deadline: float) -> asyncio.Future[tuple[int, bytes]]:
        """Queue one request; it is written with the others queued in this loop iteration."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        if self.closed:
            waiter.set_exception(ConnectionFailed("connection closed"))
            return waiter
        self.waiters.append((waiter, deadline))
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return waiter

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self._out = self._out, []
        if out and self.transport is not None and not self.closed:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    @property
    def load(self) -> int:
        return len(self.waiters)

    def expire(self, now: float) -> None:
        """Fail every request in flight once the oldest is past its deadline (answers come in order)."""
        if self.waiters and now >= self.waiters[0][1]:
            self._fail_all(TimeoutError())
            self.close()

    def _fail_all(self, exc: Exception) -> None:
        waiters, self.waiters = self.waiters, deque()
        for waiter, _ in waiters:
            if not waiter.done():
                waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        self._fail_all(ConnectionFailed("connection closed"))


class _Endpoint:
    """The connections of one ``(host, port, lane)`` and a limit on requests in flight to it."""

    def __init__(self, host: str, port: int, limit: int, connections: int) -> None:
        self.host, self.port = host, port
        self.limit = limit
        self.max_connections = connections
        self.in_flight = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.connections: list[_Connection] = []
        self._opening = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for a free slot (at most ``limit`` requests in flight to this endpoint)."""
        while self.in_flight >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self.waiting.append(waiter)
            try:
                await waiter
            except BaseException:
                if not waiter.cancelled() and waiter.done():
                    self.release_next()
                raise
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self.release_next()

    def release_next(self) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def ready_connection(self) -> _Connection | None:
        """The connection to use now without opening one, or None when :meth:`connection` must decide."""
        live = self._live()
        if not live:
            return None
        best = min(live, key=_load) if len(live) > 1 else live[0]
        if best.load == 0 or len(live) >= self.max_connections or self._opening.locked():
            return best
        return None

    def _live(self) -> list[_Connection]:
        if any(c.closed for c in self.connections):
            self.connections = [c for c in self.connections if not c.closed]
        return self.connections

    async def connection(self, connect_timeout_s: float) -> _Connection:
        """The least-loaded connection; a new one while all are busy and there are fewer than the maximum."""
        ready = self.ready_connection()
        if ready is not None:
            return ready
        async with self._opening:
            live = self._live()
            if len(live) < self.max_connections:
                try:
                    conn = await self._open(connect_timeout_s)
                except ConnectionFailed:
                    if not live:
                        raise
                else:
                    self.connections.append(conn)
                    return conn
            return min(live, key=_load)

    async def _open(self, connect_timeout_s: float) -> _Connection:
        # The connect runs in a Task of its own: callers may run without one (the gateway's fast
        # lane steps them eagerly, see kumo_tablestore.eager), and ``asyncio.timeout`` needs a Task.
        connect = asyncio.get_running_loop().create_task(self._connect(connect_timeout_s))
        try:
            return await connect
        except asyncio.CancelledError:
            connect.cancel()
            raise

    async def _connect(self, connect_timeout_s: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect_timeout_s):
                _, conn = await loop.create_connection(_Connection, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise ConnectionFailed(f"cannot connect to {self.host}:{self.port}: {exc or 'timeout'}") from None
        return conn

    def close(self) -> None:
        for conn in self.connections:
            conn.close()
        self.connections = []


def _load(conn: _Connection) -> int:
    return conn.load


class HttpPool:
    """``await request(method, url, body)`` → ``(status, body)``; raises :class:`ConnectionFailed`.

    ``per_endpoint`` bounds the requests in flight to one endpoint (lane), ``connections`` the
    connections they are pipelined on.
    """

    def __init__(
        self,
        *,
        per_endpoint: int = 128,
        connections: int = 2,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 2.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.per_endpoint = per_endpoint
        self.extra_head = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.connections = connections
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._endpoints: dict[tuple[str, int, str], _Endpoint] = {}
        self._watchdog: asyncio.Task[None] | None = None

    async def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        *,
        lane: str = "",
    ) -> tuple[int, bytes]:
        host, port, path = split_url(url)
        endpoint = self._endpoints.get((host, port, lane))
        if endpoint is None:
            endpoint = _Endpoint(host, port, self.per_endpoint, self.connections)
            self._endpoints[(host, port, lane)] = endpoint
        data = request_bytes(method, host, port, path, body, content_type, self.extra_head)
        if endpoint.in_flight < endpoint.limit and not endpoint.waiting:  # the common case, no coroutine
            endpoint.in_flight += 1
        else:
            await endpoint.acquire()
        try:
            conn = endpoint.ready_connection() or await endpoint.connection(self.connect_timeout_s)
            self._watch()
            try:
                return await conn.send(data, asyncio.get_running_loop().time() + self.timeout_s)
            except TimeoutError:
                raise ConnectionFailed(f"{method} {url}: no answer in {self.timeout_s} s") from None
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
                for conn in list(endpoint.connections):
                    conn.expire(now)

    async def close(self) -> None:
        """Close every connection (requests still in flight fail with :class:`ConnectionFailed`)."""
        for endpoint in self._endpoints.values():
            endpoint.close()
        self._endpoints.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
