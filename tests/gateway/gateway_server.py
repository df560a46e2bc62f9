"""Serve an app with :func:`kumo_gateway.server.serve` on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from kumo_gateway.server import free_port, serve


class ThreadedServer:
    """Runs :func:`kumo_gateway.server.serve` in its own thread and event loop."""

    def __init__(self, app: Any, **options: Any) -> None:
        """``options`` go to :func:`serve` (``limits``, ``allowed_hosts``)."""
        self.app = app
        self.options = options
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        self._task = asyncio.create_task(serve(self.app, "127.0.0.1", self.port, ready=ready, **self.options))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        self._started.set()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self.error = exc

    def start(self) -> None:
        self._thread.start()
        if not self._started.wait(15):
            raise RuntimeError("gateway did not start within 15 s")
        if self._task is not None and self._task.done():
            self._thread.join(5)
            raise RuntimeError(f"gateway failed to start: {self.error!r}")

    def stop(self) -> None:
        if self._loop is not None and self._task is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(15)
        if self._thread.is_alive():
            raise RuntimeError("gateway thread did not stop")
