"""One Redis connection for the usage-plan script, the hot path's only Redis call.

redis-py spends ~30 us of Python per command (pool checkout, command packing, locks, its reply
reader); the script's round trip itself costs ~5 us of client CPU (``bench/limits_micro.py``). This
link keeps one connection per event loop, writes each request's pre-packed ``EVALSHA`` at once
(concurrent requests share the connection; Redis answers in order, so replies are matched first in,
first out) and parses replies with hiredis. It is used only for plain TCP and Unix-socket Redis;
anything else (TLS, Sentinel, custom connection classes) goes through redis-py (:mod:`limits_store`).

Failures raise redis-py's exceptions (``ConnectionError``, ``TimeoutError``, ``ResponseError``), so
callers handle them like redis-py's. A call may carry a deadline (``timeout_s``): one watchdog per
connection (every :data:`WATCH_EVERY_S`) fails the calls past theirs with ``TimeoutError`` and keeps
their places in the queue, so a late reply still meets its own call and is dropped (no timer per
call: ``asyncio.timeout`` costs ~10 us of the hot path). A caller that cancels its wait instead
closes the connection: the next call reconnects, no reply can be matched to the wrong request.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import hiredis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: How often a connection with calls waiting looks for calls past their deadline (seconds).
WATCH_EVERY_S = 0.05


def pack(*args: str | bytes) -> bytes:
    """A command in RESP (an array of bulk strings)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Replies(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        #: Deadlines (loop time) of the calls that have one: (deadline, its future).
        self.deadlines: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        self._watchdog: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None
        #: Commands written by this loop iteration's requests, sent together when it ends.
        self.outgoing: list[bytes] = []

    def send(self, command: bytes, timeout_s: float | None = None) -> asyncio.Future[Any]:
        """Queue a command; the requests of one loop iteration share one write (one wake-up of Redis).
        With ``timeout_s``, the future fails with ``TimeoutError`` once that is past (within
        :data:`WATCH_EVERY_S`) if no reply came."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.waiting.append(future)
        if not self.outgoing:
            loop.call_soon(self.flush)
        self.outgoing.append(command)
        if timeout_s is not None:
            self.deadlines.append((loop.time() + timeout_s, future))
            if self._watchdog is None:
                self._watchdog = loop.call_later(WATCH_EVERY_S, self._watch)
        return future

    def _watch(self) -> None:
        self._watchdog = None
        deadlines = self.deadlines
        while deadlines and deadlines[0][1].done():
            deadlines.popleft()
        if not deadlines:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for deadline, future in deadlines:
            if deadline <= now and not future.done():
                future.set_exception(RedisTimeoutError("no answer from Redis in time"))
        self.deadlines = collections.deque(item for item in deadlines if not item[1].done())
        if self.deadlines:
            self._watchdog = loop.call_later(WATCH_EVERY_S, self._watch)

    def flush(self) -> None:
        outgoing, self.outgoing = self.outgoing, []
        if self.transport is not None and not self.transport.is_closing() and outgoing:
            self.transport.write(b"".join(outgoing) if len(outgoing) > 1 else outgoing[0])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            if not self.waiting:  # nothing asked for this: the stream is out of step
                self.close()
                return
            future = self.waiting.popleft()
            if self.deadlines and self.deadlines[0][1] is future:
                self.deadlines.popleft()
            if not future.done():
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}")
        self.transport = None
        self.deadlines.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(self.lost)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class ScriptLink:
    """Runs one Lua script (by its sha, loading it on ``NOSCRIPT``) over one connection per loop."""

    def __init__(self, address: dict[str, Any], script: str, sha: str) -> None:
        #: ``path`` (Unix socket) or ``host``/``port``; ``username``, ``password``, ``db``.
        self.address = address
        self.script = script
        self.sha = sha
        self._sha = sha.encode()
        self._protocol: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Future[_Replies] | None = None

    @classmethod
    def for_client(cls, redis: Any, script: str, sha: str) -> ScriptLink | None:
        """A link to the server of a redis-py client, or None when it is not plain TCP or a Unix socket."""
        pool = getattr(redis, "connection_pool", None)
        kwargs: dict[str, Any] = getattr(pool, "connection_kwargs", None) or {}
        kind = getattr(pool, "connection_class", None)
        if kind is UnixDomainSocketConnection and kwargs.get("path"):
            address = {"path": kwargs["path"]}
        elif kind is Connection:
            address = {"host": kwargs.get("host", "localhost"), "port": int(kwargs.get("port", 6379))}
        else:
            return None
        if kwargs.get("credential_provider") is not None:
            return None
        for name in ("username", "password"):
            if kwargs.get(name):
                address[name] = kwargs[name]
        address["db"] = int(kwargs.get("db") or 0)
        return cls(address, script, sha)

    async def run(self, packed_args: bytes, count: int, timeout_s: float | None = None) -> Any:
        """``EVALSHA sha 0 <args>``: ``packed_args`` are the ``count`` arguments already in RESP;
        ``TimeoutError`` when no answer came within ``timeout_s`` (connecting included)."""
        head = b"*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n$1\r\n0\r\n" % (count + 3, self._sha)
        reply = await self._send(head + packed_args, timeout_s)
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            body = self.script.encode()
            head = b"*%d\r\n$4\r\nEVAL\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (count + 3, len(body), body)
            reply = await self._send(head + packed_args, timeout_s)  # EVAL also caches it for EVALSHA
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            raise NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)
        return reply

    async def _send(self, command: bytes, timeout_s: float | None = None) -> Any:
        protocol = self._protocol
        transport = protocol.transport if protocol is not None else None
        if transport is None or transport.is_closing() or self._loop is not asyncio.get_running_loop():
            if timeout_s is None:
                protocol = await self._connect()
            else:
                async with asyncio.timeout(timeout_s):
                    protocol = await self._connect()
            transport = protocol.transport
        assert protocol is not None and transport is not None
        future = protocol.send(command, timeout_s)
        try:
            return await future
        except asyncio.CancelledError:  # the caller gave up (timeout): the stream may be out of step
            protocol.close()
            raise

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._connecting is not None and self._loop is loop:
            return await asyncio.shield(self._connecting)
        self._loop = loop
        self._connecting = loop.create_future()
        try:
            protocol = await self._open(loop)
        except BaseException as exc:
            connecting, self._connecting = self._connecting, None
            connecting.set_exception(exc if isinstance(exc, Exception) else RedisConnectionError(str(exc)))
            connecting.exception()  # retrieved: waiters (if any) got it
            raise
        self._protocol = protocol
        connecting, self._connecting = self._connecting, None
        connecting.set_result(protocol)
        return protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Replies:
        address = self.address
        if "path" in address:
            _, protocol = await loop.create_unix_connection(_Replies, address["path"])
        else:
            _, protocol = await loop.create_connection(_Replies, address["host"], address["port"])
        setup = []
        if address.get("password"):
            user = address.get("username")
            setup.append(pack("AUTH", user, address["password"]) if user else pack("AUTH", address["password"]))
        if address.get("db"):
            setup.append(pack("SELECT", str(address["db"])))
        for command in setup:
            future: asyncio.Future[Any] = loop.create_future()
            protocol.waiting.append(future)
            assert protocol.transport is not None
            protocol.transport.write(command)
            reply = await future
            if isinstance(reply, hiredis.ReplyError):
                protocol.close()
                raise RedisConnectionError(f"Redis refused the connection setup: {reply}")
        return protocol

    def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.close()
