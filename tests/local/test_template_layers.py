"""Layers declared in SAM templates: published at start only when their files changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from kumo.packages.layers import LayerStore
from kumo.packages.plan import PackageError


def test_publish_if_changed(tmp_path: Path) -> None:
    source = tmp_path / "layer"
    (source / "python").mkdir(parents=True)
    (source / "python" / "shared.py").write_text("VALUE = 1\n")
    store = LayerStore(tmp_path / "state")
    assert store.publish_if_changed("shared", source) == (1, True)
    assert store.publish_if_changed("shared", source) == (1, False)  # a restart: same files, same version
    (source / "python" / "shared.py").write_text("VALUE = 2\n")
    assert store.publish_if_changed("shared", source) == (2, True)
    assert (store.root / "shared" / "2" / "python" / "shared.py").read_text() == "VALUE = 2\n"
    with pytest.raises(PackageError, match=r"is not a directory or a \.zip"):
        store.publish_if_changed("shared", tmp_path / "missing")
