"""The listener bounds of :mod:`kumo.listeners` for the invoke endpoint, which aiohttp serves.

aiohttp has a keep-alive timeout and header size limits but no header timeout and no connection cap.
:class:`GuardedSockSite` wraps each connection's aiohttp protocol in :class:`_GuardedProtocol`, which
reports to the listener's :class:`~kumo.listeners.ConnectionGuard`: the first bytes of a request start
its header deadline, :func:`guard_middleware` clears it once aiohttp hands the request to the app (the
body is then read under the app's own bound) and marks the connection idle after the answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from kumo.listeners import ConnectionGuard, GuardedConnection

#: The listener's guard; set it on the app (before the runner starts) for :func:`guard_middleware`.
GUARD: web.AppKey[ConnectionGuard] = web.AppKey("listener_guard", ConnectionGuard)


class _GuardedProtocol(asyncio.Protocol):
    """Forwards everything to aiohttp's protocol; tells the guard when a connection opens, starts a
    request and closes."""

    def __init__(self, inner: Any, guard: ConnectionGuard) -> None:
        self.inner = inner
        self.guard = guard
        self.guarded: GuardedConnection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.guarded = self.guard.open(transport)
        if self.guarded is None:
            return  # refused at the cap: answered and closing
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        guarded = self.guarded
        if guarded is None:
            return
        if guarded.pending == 0 and not guarded.in_message:
            guarded.begin()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.guarded is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.guarded is not None:
            self.guarded.lost()
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


@web.middleware
async def guard_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    guard = request.app.get(GUARD)
    guarded = guard.by_transport.get(request.transport) if guard is not None and request.transport else None
    if guarded is not None:
        guarded.message_done()  # the head is in; the app bounds its own body read
    try:
        return await handler(request)
    finally:
        if guarded is not None:
            guarded.answered()


class GuardedSockSite(web.SockSite):
    """A ``SockSite`` whose connections are bounded by ``guard``."""

    def __init__(self, runner: web.BaseRunner, sock: Any, guard: ConnectionGuard) -> None:
        super().__init__(runner, sock)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        guard = self.guard

        def factory() -> _GuardedProtocol:
            return _GuardedProtocol(server(), guard)

        self._server = await asyncio.get_running_loop().create_server(factory, sock=self._sock)

    async def stop(self) -> None:
        await super().stop()
        self.guard.close()
