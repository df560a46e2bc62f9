"""Fixtures for the operator's tests: the Kubernetes emulator with Kumo's CRDs, the operator, redis-server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))

from cluster import KubeApi, ensure_kube_tools
from operator_support import CRDS, OperatorProcess, wait_for
from support import free_port


@pytest.fixture(scope="session")
def kube_tools() -> None:
    ensure_kube_tools()


@pytest.fixture
def kube_api(kube_tools: None, tmp_path: Path) -> Iterator[KubeApi]:
    api = KubeApi(workdir=tmp_path)
    api.start()
    try:
        result = api.kubectl("apply", "-f", str(CRDS))
        assert result.returncode == 0, result.stderr
        yield api
    finally:
        api.stop()


@pytest.fixture
def operator(kube_api: KubeApi, tmp_path: Path) -> Iterator[OperatorProcess]:
    """An operator process (started by the test with ``.start()``), always stopped afterwards."""
    process = OperatorProcess(kube_api, tmp_path, {"KUMO_AUTOSCALE_INTERVAL_S": "0.5"})
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free port (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        wait_for(lambda: client.ping(), timeout_s=10, what="redis-server")
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
