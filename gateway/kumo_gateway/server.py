"""Run the gateway app under uvicorn inside the caller's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import Any

import uvicorn


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


def server_config(app: Any, host: str, port: int, *, access_log: bool = False) -> uvicorn.Config:
    """uvicorn settings for the gateway: current loop, lifespan on, httptools when installed."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="none",
        http="auto",
        lifespan="on",
        access_log=access_log,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


async def serve(
    app: Any, host: str, port: int, *, ready: asyncio.Event | None = None, access_log: bool = False
) -> None:
    """Serve ``app`` until cancelled; ``ready`` is set once the socket listens.

    Cancelling the task shuts the server down gracefully (lifespan shutdown runs) before the
    cancellation propagates. Raises ``OSError`` when it cannot listen.
    """
    server = _EmbeddedServer(server_config(app, host, port, access_log=access_log), ready)
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        raise


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host`` (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
