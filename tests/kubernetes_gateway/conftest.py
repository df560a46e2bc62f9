"""Fixtures for the Kubernetes gateway: the emulator with Kumo's CRDs, redis-server, the operator,
the gateway process (``kumo gateway --kubernetes``) and a farm of ``kumo runtime`` stand-in pods."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "operator"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import KubeApi
from k8s_gateway_support import GatewayProcess, PodFarm
from operator_support import CRDS, OperatorProcess


@pytest.fixture
def kube_crds() -> Path:
    return CRDS


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
