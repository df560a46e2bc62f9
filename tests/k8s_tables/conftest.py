"""Cluster-table tests run against the emulator with Kumo's CRDs applied."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from support import KUMO_CRDS


@pytest.fixture
def kube_crds() -> Path:
    return KUMO_CRDS
