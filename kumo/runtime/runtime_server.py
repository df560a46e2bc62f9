"""Serves the Lambda Runtime API to one runtime: a lean asyncio ``Protocol`` on ``httptools``.

One connection per runtime in practice (keep-alive), four known routes, answers built by
:mod:`kumo.runtime.runtime_api`. A warm invocation costs two parser feeds and two transport writes:
no framework request/response objects, no tasks, no futures. Requests on one connection are
answered in order; a parked ``GET /next`` holds back later requests of the same connection.

Pipelining: Kumo's bootstrap sends ``POST /response`` and the next ``GET /next`` in one write. The
``202`` is then held back and leaves with the next event in one write (the client cannot read the
event before the ``202`` anyway), so a warm invocation costs one ``send`` and one ``recv`` per side.
Clients that do not pipeline (``awslambdaric``) get every answer at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass
from typing import cast

import httptools

from kumo.listeners import ConnectionGuard, GuardedConnection, HeadersTooLarge, ListenerLimits
from kumo.runtime import runtime_api as api
from kumo.runtime.invocation import MAX_SYNC_PAYLOAD
from kumo.runtime.peer_check import PeerCheck
from kumo.runtime.runtime_api import Route
from kumo.runtime.session import ActiveInvocation, RequestError, RuntimeSession

_ERROR_TYPE = api.ERROR_TYPE_HEADER.lower().encode()
_WANTED_HEADERS = {b"expect", _ERROR_TYPE}
#: Keep-alive of the Runtime API: longer than the longest function timeout.
RUNTIME_KEEPALIVE_S = 1800.0


@dataclass(slots=True)
class _Request:
    route: Route
    request_id: str
    body: bytes
    size: int
    error_type: str | None
    keep_alive: bool
    method: bytes
    path: str


class RuntimeApiProtocol(asyncio.Protocol):
    """One runtime connection: parse with ``httptools``, map requests onto the session."""

    def __init__(self, server: RuntimeApiServer) -> None:
        self._server = server
        self._session = server.session
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._queue: list[_Request] = []
        self._parked = False
        self._keep_alive = True
        self._processing = False
        self._out: list[bytes] = []  # answers not written yet (coalesced into one write)
        self._close_after_out = False
        #: The peer check's verdict on this connection (``None``: not decided yet).
        self._allowed: bool | None = None if server.peer_check is not None else True
        self._held: list[bytes] = []  # data that arrived before the instance's pid was known
        self._guarded: GuardedConnection | None = None
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._chunks: list[bytes] = []
        self._size = 0

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._server.connections.add(self)
        self._guarded = self._server.guard.open(transport)  # listener bounds (kumo.listeners)
        if self._guarded is None:
            self._transport = None  # refused at the cap: answered and closing

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.discard(self)
        if self._guarded is not None:
            self._guarded.lost()
        self._transport = None
        self._queue.clear()
        if self._parked:
            self._parked = False
            self._session.cancel_next(self._deliver)

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        if self._allowed is None and not self._decide(data):
            return
        if not self._allowed:  # not the instance's process tree: answer, take nothing from the session
            self._fail(403, "Forbidden", "This Runtime API serves its own instance's processes only")
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, "InvalidRequest", "Protocol upgrades are not supported")
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, HeadersTooLarge):
                self._fail(431, "InvalidRequest", "Request header fields too large")
                return
            self._fail(400, "InvalidRequest", f"Malformed HTTP request: {exc}")
            return
        self._process()

    def _decide(self, data: bytes) -> bool:
        """The peer check, once per connection (keep-alive requests cost nothing more). ``False``: held
        until the instance's pid is known (the child may connect before its spawn call returned)."""
        check, transport = self._server.peer_check, self._transport
        if check is None or transport is None:
            return False
        if check.owner is None:
            if not self._held:
                check.when_owner(self._resume)
            self._held.append(data)
            return False
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        self._allowed = bool(peer and local and check.allows(peer, local))
        return True

    def _resume(self) -> None:
        held, self._held = self._held, []
        if held and self._transport is not None:
            self.data_received(b"".join(held))

    # -- httptools callbacks -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._reset()
        if self._guarded is not None:
            self._guarded.begin()

    def on_url(self, url: bytes) -> None:
        self._url += url
        if self._guarded is not None:
            self._guarded.head_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._guarded is not None:
            self._guarded.head_bytes(len(name) + len(value) + 4)
        name = name.lower()
        if name in _WANTED_HEADERS:
            self._headers[name] = value

    def on_headers_complete(self) -> None:
        if self._guarded is not None:
            self._guarded.headers_done()
        if self._headers.get(b"expect", b"").lower() == b"100-continue" and self._transport is not None:
            self._transport.write(api.CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self._guarded is not None:
            self._guarded.body_progress()
        self._size += len(body)
        if self._size <= MAX_SYNC_PAYLOAD:
            self._chunks.append(body)
        else:
            self._chunks.clear()  # keep reading (and counting) what is over the limit, keep nothing

    def on_message_complete(self) -> None:
        if self._guarded is not None:
            self._guarded.message_done()
        method = self._parser.get_method()
        path = self._url.decode("latin-1")
        route, request_id = api.route(method, path)
        headers = self._headers
        error_type = headers.get(_ERROR_TYPE)
        chunks = self._chunks
        self._queue.append(
            _Request(
                route,
                request_id,
                chunks[0] if len(chunks) == 1 else b"".join(chunks),
                self._size,
                error_type.decode("latin-1") if error_type is not None else None,
                self._parser.should_keep_alive(),
                method,
                path,
            )
        )

    # -- requests ------------------------------------------------------------------------------
    def _process(self) -> None:
        if self._processing:
            return
        self._processing = True
        try:
            while self._queue and not self._parked and self._transport is not None:
                request = self._queue.pop(0)
                if request.route is Route.NEXT:
                    self._parked = True
                    self._keep_alive = request.keep_alive
                    self._session.request_next(self._deliver)
                else:
                    self._send(self._answer(request), request.keep_alive)
        finally:
            self._processing = False
        if not self._parked:
            self._flush()

    def _answer(self, request: _Request) -> bytes:
        session = self._session
        try:
            if request.route is Route.RESPONSE:
                if request.size > MAX_SYNC_PAYLOAD:
                    session.respond_too_large(request.request_id, request.size)
                session.respond(request.request_id, request.body)
            elif request.route is Route.ERROR:
                session.fail(request.request_id, request.body, request.error_type)
            elif request.route is Route.INIT_ERROR:
                session.init_error(request.body, request.error_type)
            else:
                message = f"No such Runtime API route: {request.method.decode('latin-1')} {request.path}"
                return api.error_response(404, "NotFound", message)
        except RequestError as exc:
            return api.json_response(exc.status, exc.body)
        return api.ACCEPTED

    def _deliver(self, active: ActiveInvocation | None) -> None:
        """The session's receiver: answers the parked ``GET /next``."""
        if not self._parked:
            return
        self._parked = False
        if active is None:
            self._send(api.SHUTTING_DOWN, False)
        else:
            self._send(api.next_response(active.invocation, active.deadline_ms), self._keep_alive)
        if self._processing:
            return  # handed out synchronously inside _process, which flushes
        if self._queue:
            self._process()
        else:
            self._flush()

    def _send(self, data: bytes, keep_alive: bool) -> None:
        """Queue an answer; ``_flush`` writes them all at once."""
        if self._transport is None:
            return
        self._out.append(data)
        if not keep_alive:
            self._close_after_out = True
            self._queue.clear()

    def _flush(self) -> None:
        transport = self._transport
        if transport is None or not self._out:
            return
        out, self._out = self._out, []
        transport.write(out[0] if len(out) == 1 else b"".join(out))
        if self._guarded is not None:
            for _ in out:
                self._guarded.answered()
        if self._close_after_out:
            transport.close()
            self._transport = None

    def _fail(self, status: int, error_type: str, message: str) -> None:
        self._queue.clear()
        self._send(api.error_response(status, error_type, message, close=True), False)
        self._flush()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class RuntimeApiServer:
    """The Runtime API of one instance on ``host:port`` (0 = any free port)."""

    def __init__(
        self, session: RuntimeSession, peer_check: PeerCheck | None = None, limits: ListenerLimits | None = None
    ) -> None:
        self.session = session
        #: Decides once per connection whether the peer is the instance (``None``: anyone local).
        self.peer_check = peer_check
        self.connections: set[RuntimeApiProtocol] = set()
        # An instance's connection stays idle while its function runs (up to 900 s): keep it longer.
        limits = limits or ListenerLimits.from_env(internal=True)
        if limits.keepalive_timeout_s < RUNTIME_KEEPALIVE_S:
            limits = dataclasses.replace(limits, keepalive_timeout_s=RUNTIME_KEEPALIVE_S)
        self.guard = ConnectionGuard(limits)
        self._server: asyncio.AbstractServer | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the bound port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: RuntimeApiProtocol(self), host, port, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop every connection. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.guard.close()
        for connection in list(self.connections):
            connection.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1.0)
