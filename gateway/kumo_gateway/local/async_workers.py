"""``kumo up``'s async invocation workers: ``kumo worker`` subprocesses on the private Redis, invoking
through this gateway with their own access key (``platform:async-worker``), stopped with ``kumo up``
(and stopping by themselves if ``kumo up`` dies: ``--exit-with-parent``)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

from kumo.parent_death import die_with_parent
from kumo_gateway.async_.invoker import WORKER_KEY_NAME
from kumo_gateway.auth.local_store import LocalKeyStore

log = logging.getLogger("kumo.local")

APPENDFSYNC_POLICIES = ("everysec", "always")


@dataclass(frozen=True)
class AsyncOptions:
    workers: int = 1
    retry_delay_s: float = 60.0
    visibility_timeout_s: float = 30.0
    appendfsync: str = "everysec"

    def check(self) -> None:
        if self.workers < 0:
            raise ValueError("--async-workers must be 0 or more")
        if self.retry_delay_s <= 0 or self.visibility_timeout_s <= 0:
            raise ValueError("--async-retry-delay and --async-visibility-timeout must be greater than 0")
        if self.appendfsync not in APPENDFSYNC_POLICIES:
            raise ValueError(f"--redis-appendfsync must be one of {', '.join(APPENDFSYNC_POLICIES)}")


class WorkerProcesses:
    def __init__(self, options: AsyncOptions, redis_url: str, gateway_url: str, store: LocalKeyStore | None) -> None:
        self.options = options
        self.redis_url = redis_url
        self.gateway_url = gateway_url
        self.store = store
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        if self.options.workers == 0:
            return
        env = dict(os.environ)
        if self.store is not None:
            key = self.store.ensure(WORKER_KEY_NAME)
            env["KUMO_WORKER_ACCESS_KEY_ID"] = key.access_key_id
            env["KUMO_WORKER_SECRET_ACCESS_KEY"] = key.secret_access_key
        env["KUMO_REDIS_URL"] = self.redis_url
        for index in range(self.options.workers):
            argv = [
                sys.executable, "-m", "kumo_cli", "worker",
                "--gateway-url", self.gateway_url,
                "--retry-delay", f"{self.options.retry_delay_s}s",
                "--visibility-timeout", f"{self.options.visibility_timeout_s}s",
                "--consumer", f"local-{os.getpid()}-{index}",
                "--exit-with-parent", str(os.getpid()),
            ]  # fmt: skip
            # SIGTERM when kumo up dies, even by SIGKILL (besides the worker's own --exit-with-parent check).
            process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent(signal.SIGTERM)
            )
            self.processes.append(process)
        log.info("started %d async worker(s)", len(self.processes))

    def stop(self, timeout_s: float = 15.0) -> None:
        processes, self.processes = self.processes, []
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
