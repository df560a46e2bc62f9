"""Run the gateway app under uvicorn inside the caller's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Callable, Generator
from typing import Any

import uvicorn

from kumo.listeners import ConnectionGuard, ListenerLimits


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host and reports readiness."""

    def __init__(self, config: uvicorn.Config, ready: asyncio.Event | None) -> None:
        super().__init__(config)
        self._ready = ready

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        except SystemExit:  # uvicorn exits the process when it cannot listen; a host wants an error
            raise OSError(f"the gateway could not listen on {self.config.host}:{self.config.port}") from None
        if self.started and self._ready is not None:
            self._ready.set()


def server_config(
    app: Any,
    host: str,
    port: int,
    *,
    access_log: bool = False,
    limits: ListenerLimits | None = None,
    allowed_hosts: frozenset[str] | None = None,
) -> uvicorn.Config:
    """uvicorn settings for the gateway: current loop, lifespan on, Kumo's guarded httptools protocol.

    ``limits`` bound the listener (:mod:`kumo.listeners`; default: from ``KUMO_*`` variables);
    ``allowed_hosts`` is the Host allow-list (``None``: any host). An app with a ``state.fast_lane``
    endpoint (:mod:`kumo_gateway.fast_lane`) is served with the fast-lane protocol, so that
    endpoint's requests skip ASGI.
    """
    limits = limits or ListenerLimits.from_env()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="none",
        http=_http_protocol(app, limits, allowed_hosts),
        lifespan="on",
        access_log=access_log,
        log_level="warning",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=max(1, int(limits.keepalive_timeout_s + 0.999)),
    )


def _http_protocol(app: Any, limits: ListenerLimits, allowed_hosts: frozenset[str] | None) -> Any:
    from kumo_gateway.fast_lane import FastLaneProtocol
    from kumo_gateway.guarded_protocol import GuardedProtocol

    attributes: dict[str, Any] = {"guard": ConnectionGuard(limits), "allowed_hosts": allowed_hosts}
    endpoint = getattr(getattr(app, "state", None), "fast_lane", None)
    if endpoint is None:
        return type("GatewayProtocol", (GuardedProtocol,), attributes)
    return type("GatewayProtocol", (FastLaneProtocol,), {**attributes, "endpoint": endpoint})


async def serve(
    app: Any,
    host: str,
    port: int,
    *,
    ready: asyncio.Event | None = None,
    access_log: bool = False,
    limits: ListenerLimits | None = None,
    allowed_hosts: frozenset[str] | None = None,
) -> None:
    """Serve ``app`` until cancelled; ``ready`` is set once the socket listens.

    Cancelling the task shuts the server down gracefully (lifespan shutdown runs) before the
    cancellation propagates. Raises ``OSError`` when it cannot listen.
    """
    config = server_config(app, host, port, access_log=access_log, limits=limits, allowed_hosts=allowed_hosts)
    server = _EmbeddedServer(config, ready)
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        raise


def client_host(host: str) -> str:
    """The address clients use for a listen address (a wildcard listen is reached on loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host`` (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def serve_until_signalled(
    app: Any,
    host: str,
    port: int,
    *,
    on_ready: Callable[[], None] | None = None,
    name: str = "kumo",
    allowed_hosts: frozenset[str] | None = None,
) -> int:
    """Serve ``app`` until SIGINT/SIGTERM (the process entry of ``kumo up`` and ``kumo gateway``).

    ``on_ready`` runs once the socket listens. Returns 0 on a clean stop, 1 when the server could
    not start or stopped by itself with an error (printed to stderr).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    ready = asyncio.Event()
    serving = asyncio.create_task(serve(app, host, port, ready=ready, allowed_hosts=allowed_hosts))
    readying = asyncio.create_task(ready.wait())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([serving, readying, stopping], return_when=asyncio.FIRST_COMPLETED)
        if ready.is_set() and not stop.is_set():
            if on_ready is not None:
                on_ready()
            await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
        if serving.done() and not serving.cancelled():
            error = serving.exception()
            if error is not None or not ready.is_set():
                print(f"{name}: the gateway could not serve on {host}:{port}: {error}", file=sys.stderr)
                return 1
        return 0
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        for task in (serving, readying, stopping):
            task.cancel()
        await asyncio.gather(serving, readying, stopping, return_exceptions=True)
