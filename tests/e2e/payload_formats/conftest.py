"""One ``kumo up`` with payload format 1.0 and 2.0 Apis, and framework functions behind both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from formats_support import manifests
from kumo_up import KumoUp


@pytest.fixture(scope="package")
def formats_kumo(tmp_path_factory):
    up = KumoUp(manifests(), tmp_path_factory.mktemp("kumo-formats"))
    try:
        yield up
    finally:
        up.stop()
