"""Fixtures for cluster tables: the Kubernetes emulator with Kumo's CRDs applied."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from cluster import REPO, KubeApi, ensure_kube_tools

CRDS = REPO / "charts" / "kumo" / "crds"


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
