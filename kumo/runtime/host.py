"""The runtime host: one function instance = this Runtime API server + its language runtime.

Many hosts can share one event loop (local mode): no global state, no signal handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from kumo.runtime import failures, logformat
from kumo.runtime.child import ChildProcess
from kumo.runtime.config import INIT_TIMEOUT_S, FunctionConfig
from kumo.runtime.environment import build_environment
from kumo.runtime.invocation import LOG_TAIL_BYTES, Invocation, InvocationResult
from kumo.runtime.logsink import InstanceLog
from kumo.runtime.memory import PeakReader, tree_usage_kb
from kumo.runtime.peer_check import PeerCheck
from kumo.runtime.python import python_command, resolve_python, runtime_version
from kumo.runtime.runtime_server import RuntimeApiServer
from kumo.runtime.sandbox import Identity, spawn_arguments
from kumo.runtime.session import ActiveInvocation, Outcome, RuntimeSession

#: How often memory is sampled while an invocation runs (the kernel's high-water mark covers gaps).
MEMORY_POLL_S = 0.02


def bootstrap_path() -> Path:
    """Kumo's Python runtime client (standard library only)."""
    import kumo_runtime_python

    return Path(kumo_runtime_python.__file__).parent / "bootstrap.py"


class RuntimeHost:
    """One function instance. ``start()`` spawns, ``invoke()`` runs one event at a time, ``stop()``."""

    def __init__(
        self,
        config: FunctionConfig,
        *,
        instance_id: str | None = None,
        log_dir: Path | None = None,
        tmp_root: Path | None = None,
        sandbox: Identity | None = None,
    ) -> None:
        self.config = config
        #: Run the instance as this unprivileged identity (``None``: as this process's user).
        self.sandbox = sandbox
        self.instance_id = instance_id or uuid.uuid4().hex
        self.tmp_root = tmp_root
        self.log = InstanceLog(log_dir / config.name / f"{self.instance_id}.log" if log_dir else None)
        self.alive = False
        self.busy = False
        self.tmpdir: Path | None = None
        self._child = ChildProcess(self.log.write)
        self._session: RuntimeSession | None = None
        self._peer_check: PeerCheck | None = None
        self._api: RuntimeApiServer | None = None
        self._peak = PeakReader()
        self._watchdog: asyncio.TimerHandle | None = None
        self._sampled_peak_kb = 0
        self._spawned_at = 0.0
        self._init_reported = False
        self._init_error: bytes | None = None
        self._start_failure: str | None = None
        self._started = False
        self._stopped = False

    @property
    def pid(self) -> int | None:
        return self._child.pid

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the Runtime API, make TMPDIR, spawn the runtime; returns without waiting for init."""
        if self._started:
            raise RuntimeError("instance already started")
        self._started = True
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        cfg = self.config
        argv: list[str] = list(cfg.command or [])
        python_path: list[str] = []
        if cfg.runtime.startswith("python") or not cfg.command:
            runtime_version(cfg.runtime)  # refuses unknown runtimes before anything starts
            await asyncio.to_thread(resolve_python, cfg.runtime)  # cached after the first call
            executable = self.sandbox.python if self.sandbox is not None else None
            bootstrap_argv, python_path = python_command(cfg.runtime, bootstrap_path(), executable)
            argv = argv or bootstrap_argv
        self._session = RuntimeSession(self._child.drain)
        self._peer_check = PeerCheck()
        self._api = RuntimeApiServer(self._session, self._peer_check)
        port = await self._api.start("127.0.0.1", 0)
        if self.tmp_root is not None:
            self.tmp_root.mkdir(parents=True, exist_ok=True)
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"kumo-{cfg.name}-", dir=self.tmp_root))
        if self.sandbox is not None:
            os.chown(self.tmpdir, self.sandbox.uid, self.sandbox.gid)
        env = build_environment(
            cfg,
            runtime_api=f"127.0.0.1:{port}",
            instance_id=self.instance_id,
            tmpdir=str(self.tmpdir),
            runtime_dir=str(bootstrap_path().parent),
            host_env=os.environ,
            now=dt.datetime.now(dt.UTC),
            python_path=python_path,
        )
        if self.sandbox is not None:
            env["HOME"] = str(self.tmpdir)  # the host's home is not the sandboxed user's
        self.log.open()
        self.log.platform(f"INIT_START Runtime Version: {cfg.runtime}\n".encode())
        self._spawned_at = time.monotonic()
        try:
            await self._child.spawn(argv, env, cfg.code_dir, **spawn_arguments(self.sandbox))
        except OSError as exc:  # e.g. a missing command: every invocation reports it, as Lambda does
            self._start_failure = f"fork/exec {argv[0]}: {exc.strerror or exc}"
            self.log.platform(f"{self._start_failure}\n".encode())
            return
        self.alive = True
        if self._peer_check is not None:
            self._peer_check.owner = self._child.pid  # its Runtime API now serves that process tree only
        if self._child.pid is not None:
            self._peak.open(self._child.pid)
        self._child.exit_future.add_done_callback(self._on_exit)

    async def stop(self) -> None:
        """Kill the runtime's process group, close listeners, delete TMPDIR. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.alive = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._session is not None:
            self._session.close()
        await self._child.close()
        self._peak.close()
        if self._api is not None:
            await self._api.close()
        if self.tmpdir is not None:
            await asyncio.to_thread(shutil.rmtree, self.tmpdir, True)
        self.log.close()

    async def wait_exited(self) -> int:
        """Wait until the runtime process has exited; returns its return code."""
        return await self._child.exit_future

    # -- invocations ------------------------------------------------------------------------
    async def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run one invocation (raises ``RuntimeError`` if another one is in flight)."""
        if self.busy:
            raise RuntimeError(f"instance {self.instance_id} is busy")
        if not self._started or self._stopped or self._session is None:
            raise RuntimeError(f"instance {self.instance_id} is not running (start() it, or it was stopped)")
        self.busy = True
        try:
            return await self._invoke(self._session, invocation)
        finally:
            self.busy = False

    async def _invoke(self, session: RuntimeSession, inv: Invocation) -> InvocationResult:
        rid = inv.request_id
        self.log.begin(capture=inv.log_tail)
        self.log.platform(logformat.start_line(rid, self.config.version))
        started = time.monotonic()
        outcome = await self._await_init(session, rid)
        peak_kb = 0
        if outcome is None:
            self._sampled_peak_kb = 0
            active = session.submit(inv, self.config.timeout_s)
            if self._watchdog is None:
                self._arm_watchdog(active.started_at + min(MEMORY_POLL_S, active.timeout_s))
            outcome = await active.outcome
            started = active.started_at
            outcome, peak_kb = self._check_peak(active, outcome)
        duration_ms = (time.monotonic() - started) * 1000
        if not outcome.reusable:
            await self._retire()
        return self._finish(inv, outcome, duration_ms, peak_kb)

    async def _await_init(self, session: RuntimeSession, rid: str) -> Outcome | None:
        """``None`` once the runtime is ready; else the outcome the invocation gets instead."""
        if self._init_error is not None:
            return Outcome(self._init_error, "Unhandled", reusable=False)
        if self._start_failure is not None:
            return Outcome(failures.failed_to_start(rid, self._start_failure), "Unhandled", reusable=False)
        if session.init_result.done() and self.alive:
            return None
        exited = self._child.exit_future
        remaining = INIT_TIMEOUT_S - (time.monotonic() - self._spawned_at)
        await asyncio.wait(
            {session.init_result, exited}, timeout=max(0.0, remaining), return_when=asyncio.FIRST_COMPLETED
        )
        if session.init_result.done():
            error = session.init_result.result()
            if error is None and not exited.done():
                return None
            if error is not None:
                self._init_error = error
                return Outcome(error, "Unhandled", reusable=False)
        if exited.done():
            return self._platform_failure(rid, failures.exited(rid, exited.result()))
        return self._platform_failure(rid, failures.init_timed_out(rid, INIT_TIMEOUT_S))

    # -- the watchdog: one timer per instance, armed lazily, re-armed only while work runs --------
    def _arm_watchdog(self, at: float) -> None:
        self._watchdog = asyncio.get_running_loop().call_later(max(0.0, at - time.monotonic()), self._tick)

    def _tick(self) -> None:
        """Timeout and memory checks of the running invocation; flushes its log to the file."""
        self._watchdog = None
        self.log.flush()
        active = self._session.active if self._session is not None else None
        if active is None or active.outcome.done():
            return  # idle: the next invocation arms the timer again
        now = time.monotonic()
        started = active.started_at
        deadline = started + active.timeout_s
        rid = active.request_id
        if now >= deadline:
            self.log.platform(
                f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%S.%fZ} {rid} Task timed out after "
                f"{active.timeout_s:.2f} seconds\n".encode()
            )
            active.finish(Outcome(failures.timed_out(rid, active.timeout_s), "Unhandled", False))
            return
        pid = self._child.pid
        if now - started >= MEMORY_POLL_S and pid is not None and self.alive:
            # Still running after a poll interval: sample the whole process tree's memory.
            self._sampled_peak_kb = max(self._sampled_peak_kb, tree_usage_kb(pid)[1])
            if self._sampled_peak_kb > self.config.memory_mb * 1024:
                active.finish(self._platform_failure(rid, failures.out_of_memory(rid)))
                return
        next_at = now + MEMORY_POLL_S if now - started >= MEMORY_POLL_S else started + MEMORY_POLL_S
        self._arm_watchdog(min(next_at, deadline))

    def _on_exit(self, exited: asyncio.Future[int]) -> None:
        """The runtime exited: fail the running invocation, if any."""
        self.alive = False
        active = self._session.active if self._session is not None else None
        if active is not None and not active.outcome.done() and not exited.cancelled():
            rid = active.request_id
            active.finish(self._platform_failure(rid, failures.exited(rid, exited.result())))

    def _check_peak(self, active: ActiveInvocation, outcome: Outcome) -> tuple[Outcome, int]:
        """The invocation's peak memory; past the limit the outcome becomes ``Runtime.OutOfMemory``.

        One ``pread`` of ``/proc/<pid>/status`` (``VmHWM``, which catches spikes between samples).
        The runtime's own ``ru_maxrss`` cannot replace it: it inherits the forking host's peak.
        """
        peak_kb = self._sampled_peak_kb
        if outcome.reusable and self.alive:
            peak_kb = max(peak_kb, self._peak.read_kb())
            if peak_kb > self.config.memory_mb * 1024:  # Lambda would have killed it
                outcome = self._platform_failure(active.request_id, failures.out_of_memory(active.request_id))
        return outcome, peak_kb

    def _platform_failure(self, rid: str, payload: bytes) -> Outcome:
        error = json.loads(payload)
        self.log.platform(logformat.platform_error_line(rid, error["errorMessage"]))
        self.log.platform(f"{error['errorType']}\n".encode())
        return Outcome(payload, "Unhandled", reusable=False)

    async def _retire(self) -> None:
        """The instance cannot be reused: kill the runtime now (listeners go on ``stop()``)."""
        self.alive = False
        self._child.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._child.exit_future), 5.0)

    def _finish(self, inv: Invocation, outcome: Outcome, duration_ms: float, peak_kb: int) -> InvocationResult:
        rid = inv.request_id
        init_ms = None
        if not self._init_reported and self._session is not None and self._session.init_done_at:
            init_ms = (self._session.init_done_at - self._spawned_at) * 1000
            self._init_reported = True
        self.log.platform(
            logformat.end_line(rid)
            + logformat.report_line(
                rid,
                duration_ms=duration_ms,
                memory_mb=self.config.memory_mb,
                max_memory_used_mb=math.ceil(peak_kb / 1024),
                init_duration_ms=init_ms,
            )
        )
        captured = self.log.end()
        return InvocationResult(
            payload=outcome.payload,
            function_error=outcome.function_error,
            log_tail=logformat.tail(captured, LOG_TAIL_BYTES),
            executed_version=self.config.version,
            instance_reusable=outcome.reusable and self.alive,
            duration_ms=duration_ms,
        )
