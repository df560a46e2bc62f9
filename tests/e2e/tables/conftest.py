"""One ``kumo up`` with tables for the table tests (real gateway, real partition processes)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tables_support import clients, manifests, start_kumo


@pytest.fixture(scope="package")
def tables_kumo(tmp_path_factory):
    up = start_kumo(tmp_path_factory.mktemp("kumo-tables"), manifests())
    try:
        yield up
    finally:
        up.stop()


@pytest.fixture(scope="package")
def ddb(tables_kumo):
    return clients(tables_kumo)[0]


@pytest.fixture(scope="package")
def ddb_resource(tables_kumo):
    return clients(tables_kumo)[1]
