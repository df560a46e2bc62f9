"""Standalone mode (``kumo runtime`` in a pod): one instance at a time behind the invoke endpoint.

A pod is long-lived: when the runtime dies or is killed (timeout, memory, crash), a fresh instance
replaces it. SIGTERM/SIGINT stop the instance and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from kumo.runtime.config import ConfigError, FunctionConfig, config_from_env
from kumo.runtime.host import RuntimeHost
from kumo.runtime.invoke_endpoint import make_invoke_app, serve_app

log = logging.getLogger("kumo.runtime")

#: Back-off between replacements of an instance that keeps dying right away (seconds).
RESTART_BACKOFF = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0)
#: An instance that lived this long resets the back-off.
HEALTHY_AFTER_S = 10.0


class Supervisor:
    """Keeps one :class:`RuntimeHost` running and replaces it when its runtime exits."""

    def __init__(self, config: FunctionConfig, log_dir: Path | None) -> None:
        self.config = config
        self.log_dir = log_dir
        self.host: RuntimeHost | None = None
        self.instances = 0

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            host = RuntimeHost(self.config, log_dir=self.log_dir)
            started_at = loop.time()
            try:
                await host.start()
            except Exception:
                log.exception("could not start an instance of %s", self.config.name)
                await host.stop()
                failures += 1
                await _sleep_or_stop(stop, RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)])
                continue
            self.host = host
            self.instances += 1
            exited = asyncio.ensure_future(host.wait_exited())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            while host.busy and not stop.is_set():  # let the invocation report its own failure
                await asyncio.sleep(0.01)
            self.host = None
            await host.stop()
            exited.cancel()
            if stop.is_set():
                break
            failures = 0 if loop.time() - started_at > HEALTHY_AFTER_S else failures + 1
            log.info("instance %s of %s ended; starting a fresh one", host.instance_id, self.config.name)
            await _sleep_or_stop(stop, RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)])


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


async def serve(config: FunctionConfig, *, host: str, port: int, log_dir: Path | None, stop: asyncio.Event) -> None:
    supervisor = Supervisor(config, log_dir)
    runner, bound = await serve_app(make_invoke_app(lambda: supervisor.host, wait_for_host_s=10.0), host, port)
    print(f"kumo runtime: {config.name} listening on http://{host}:{bound}", file=sys.stderr, flush=True)
    try:
        await supervisor.run(stop)
    finally:
        await runner.cleanup()


def run_standalone(config: FunctionConfig, *, host: str, port: int, log_dir: Path | None) -> int:
    """Serve ``config`` on ``host:port`` until SIGTERM/SIGINT; returns the exit code (0)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, host=host, port=port, log_dir=log_dir, stop=stop)

    asyncio.run(main())
    return 0


def main() -> int:
    """``python -m kumo.runtime.standalone``: configured by ``KUMO_*`` variables only."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_env(os.environ)
    except ConfigError as exc:
        print(f"kumo runtime: {exc}", file=sys.stderr)
        return 2
    log_dir = os.environ.get("KUMO_LOG_DIR")
    return run_standalone(
        config,
        host=os.environ.get("KUMO_HOST", "0.0.0.0"),
        port=int(os.environ.get("KUMO_PORT", "8080")),
        log_dir=Path(log_dir) if log_dir else None,
    )


if __name__ == "__main__":
    sys.exit(main())
