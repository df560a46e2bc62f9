"""Fixtures for the Kubernetes gateway: the emulator with Kumo's CRDs, redis-server, the operator,
the gateway process (``kumo gateway --kubernetes``) and a farm of ``kumo runtime`` stand-in pods.

The operator and the gateway run as the chart's service accounts with the chart's RBAC enforced by the
emulator (``chart_rbac``): a call the chart does not grant is answered 403 and fails the test at
teardown, listed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chart"))

from chart_rbac import assert_only_granted_calls, enforce_chart_rbac
from cluster import KubeApi
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import CRDS, OperatorProcess


@pytest.fixture
def kube_crds() -> Path:
    return CRDS


@pytest.fixture
def operator(kube_api: KubeApi, tmp_path: Path) -> Iterator[OperatorProcess]:
    user = enforce_chart_rbac(kube_api)["operator"]
    env = {"KUMO_AUTOSCALE_INTERVAL_S": "0.5", "KUMO_STABLE_WINDOW_S": "1"}
    process = OperatorProcess(kube_api, tmp_path, env, user=user)
    try:
        yield process
    finally:
        process.stop()
    assert_only_granted_calls(kube_api.emulator.access_control, *([user] if process.starts else []))


@pytest.fixture
def pods(kube_api: KubeApi, tmp_path: Path) -> Iterator[PodFarm]:
    farm = PodFarm(kube_api, tmp_path / "pods")
    try:
        yield farm
    finally:
        farm.stop_all()


@pytest.fixture
def gateway(kube_api: KubeApi, tmp_path: Path) -> Iterator[GatewayProcess]:
    user = enforce_chart_rbac(kube_api)["gateway"]
    process = GatewayProcess(kube_api, tmp_path, user=user)
    try:
        yield process
    finally:
        process.stop()
    assert_only_granted_calls(kube_api.emulator.access_control, *([user] if process.starts else []))
