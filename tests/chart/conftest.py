"""Fixtures for the chart tests: the real helm/kubectl binaries and the Kubernetes API emulator."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The emulator and its helpers live in tests/kube (a folder of plain modules, not a package).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))

from cluster import KubeApi, ensure_kube_tools


@pytest.fixture(scope="session")
def kube_tools() -> None:
    """kubectl and helm in hack/bin (installed by hack/install-kube-tools.sh on first use)."""
    ensure_kube_tools()


@pytest.fixture
def kube_api(kube_tools: None, tmp_path: Path) -> Iterator[KubeApi]:
    """A fresh API-server emulator for one test, stopped afterwards."""
    api = KubeApi(workdir=tmp_path)
    api.start()
    try:
        yield api
    finally:
        api.stop()
