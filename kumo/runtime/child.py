"""The language runtime as a child process: spawn, output pipe, kill. No Lambda logic here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_READ_CHUNK = 65536


class ChildProcess:
    """A child in its own session (process group), stdout+stderr on one non-blocking pipe.

    ``on_output`` gets every chunk the child writes; :meth:`drain` reads what is already in the
    pipe synchronously, so output written before an HTTP call of the child is never late.
    """

    def __init__(self, on_output: Callable[[bytes], None]) -> None:
        self._on_output = on_output
        self._proc: asyncio.subprocess.Process | None = None
        self._read_fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.returncode: int | None = None
        self.exited = asyncio.Event()
        self._exit_future: asyncio.Future[int] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def exit_future(self) -> asyncio.Future[int]:
        """Resolves with the return code once the child has exited and its output is drained."""
        if self._exit_future is None:
            self._exit_future = asyncio.get_running_loop().create_future()
            if self.exited.is_set():
                self._exit_future.set_result(self.returncode if self.returncode is not None else -9)
        return self._exit_future

    async def spawn(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, **options: Any) -> None:
        """``options``: more ``subprocess`` arguments (the sandbox's user, group, ``preexec_fn``)."""
        self._loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                env=dict(env),
                cwd=str(cwd),
                start_new_session=True,
                **options,
            )
        except BaseException:
            os.close(read_fd)
            self.returncode = 127
            self.exited.set()
            if self._exit_future is not None and not self._exit_future.done():
                self._exit_future.set_result(127)
            raise
        finally:
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        self._read_fd = read_fd
        self._loop.add_reader(read_fd, self.drain)
        self._loop.create_task(self._wait())

    def drain(self) -> None:
        """Read everything the pipe holds right now (never blocks)."""
        fd = self._read_fd
        while fd is not None:
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:  # every writer closed the pipe
                self._close_pipe()
                return
            self._on_output(chunk)

    def _close_pipe(self) -> None:
        if self._read_fd is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._read_fd)
        os.close(self._read_fd)
        self._read_fd = None

    async def _wait(self) -> None:
        assert self._proc is not None
        try:
            self.returncode = await self._proc.wait()
        finally:
            # Leftover descendants of a dead runtime go with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self.drain()
            self.exited.set()
            if self._exit_future is not None and not self._exit_future.done():
                self._exit_future.set_result(self.returncode if self.returncode is not None else -9)

    def kill(self) -> None:
        """SIGKILL the child's whole process group."""
        if self._proc is None or self.exited.is_set():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        """Kill, reap and release the pipe. Idempotent."""
        self.kill()
        if self._proc is not None and not self.exited.is_set():
            await self.exited.wait()
        # Descendants that left the group may still hold the pipe: stop reading anyway.
        self.drain()
        self._close_pipe()
