"""Fixtures for the operator's tests: the Kubernetes emulator with Kumo's CRDs, the operator, redis-server.

The operator runs as the chart's operator service account with the chart's RBAC enforced by the
emulator (``chart_rbac``): a call the chart does not grant is answered 403 and fails the test at
teardown, listed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chart"))

from chart_rbac import assert_only_granted_calls, enforce_chart_rbac
from cluster import KubeApi
from operator_support import CRDS, OperatorProcess


@pytest.fixture
def kube_crds() -> Path:
    return CRDS


@pytest.fixture
def operator(kube_api: KubeApi, tmp_path: Path) -> Iterator[OperatorProcess]:
    """An operator process (started by the test with ``.start()``), always stopped afterwards."""
    user = enforce_chart_rbac(kube_api)["operator"]
    process = OperatorProcess(kube_api, tmp_path, {"KUMO_AUTOSCALE_INTERVAL_S": "0.5"}, user=user)
    try:
        yield process
    finally:
        process.stop()
    assert_only_granted_calls(kube_api.emulator.access_control, *([user] if process.starts else []))
