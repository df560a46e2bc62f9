"""Fixtures for the operator's tests: the Kubernetes emulator with Kumo's CRDs, the operator, redis-server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import KubeApi
from operator_support import CRDS, OperatorProcess


@pytest.fixture
def kube_crds() -> Path:
    return CRDS


@pytest.fixture
def operator(kube_api: KubeApi, tmp_path: Path) -> Iterator[OperatorProcess]:
    """An operator process (started by the test with ``.start()``), always stopped afterwards."""
    process = OperatorProcess(kube_api, tmp_path, {"KUMO_AUTOSCALE_INTERVAL_S": "0.5"})
    try:
        yield process
    finally:
        process.stop()
