"""Fixtures for the Kubernetes gateway: the emulator with Kumo's CRDs, redis-server, the operator,
the gateway process (``kumo gateway --kubernetes``) and a farm of ``kumo runtime`` stand-in pods."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import KubeApi, ensure_kube_tools
from k8s_gateway_support import GatewayProcess, PodFarm
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
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free port (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


@pytest.fixture
def operator(kube_api: KubeApi, tmp_path: Path) -> Iterator[OperatorProcess]:
    process = OperatorProcess(kube_api, tmp_path, {"KUMO_AUTOSCALE_INTERVAL_S": "0.5", "KUMO_STABLE_WINDOW_S": "1"})
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def pods(kube_api: KubeApi, tmp_path: Path) -> Iterator[PodFarm]:
    farm = PodFarm(kube_api, tmp_path / "pods")
    try:
        yield farm
    finally:
        farm.stop_all()


@pytest.fixture
def gateway(kube_api: KubeApi, tmp_path: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(kube_api, tmp_path)
    try:
        yield process
    finally:
        process.stop()
