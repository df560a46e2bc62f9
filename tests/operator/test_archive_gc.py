"""The code store's garbage collection rule (pure): what is referenced, what is old enough to go."""

from __future__ import annotations

import pytest

from kumo.packages.code_store import ArchiveEntry
from kumo_operator.archive_gc import archives_to_delete, function_archives, layer_archive, referenced_archives
from kumo_operator.config import OperatorConfigError, config_from_env

PKG, LAYER, OLD_PKG, CM_LAYER, LOOSE, NEW = (c * 64 for c in "abcdef")
NOW = 1_000_000.0


def function(**status: object) -> dict:
    return {
        "metadata": {"name": "orders", "namespace": "team"},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"package": {"sha256": PKG, "size": 10, "layers": [{"sha256": LAYER, "size": 5}]}},
        },
        "status": status,
    }


def test_a_function_refers_to_its_package_its_layers_and_its_published_versions() -> None:
    assert function_archives(function()) == {PKG, LAYER}
    # a package version's entry records its package with its layers (h-layers' operator)
    record = {"version": "1", "package": {"sha256": OLD_PKG, "size": 3, "layers": [{"sha256": LOOSE, "size": 2}]}}
    published = function(versions=[record, "junk"])
    assert function_archives(published) == {PKG, LAYER, OLD_PKG, LOOSE}
    assert function_archives({"spec": {"code": {"inline": {"app.py": "x"}}}}) == set()
    # not a SHA-256 (e.g. Lambda's base64 CodeSha256, or garbage): not an address
    odd = {"spec": {"code": {"package": {"sha256": "AB" * 32}}}, "status": {"versions": [{"codeSha256": "q80="}]}}
    assert function_archives(odd) == set()
    assert function_archives({"metadata": {}, "status": "weird"}) == set()


def test_layer_config_maps_name_their_archive_in_data_sha256() -> None:
    assert layer_archive({"data": {"sha256": CM_LAYER, "size": "9"}}) == CM_LAYER
    assert layer_archive({"data": {"sha256": f" {CM_LAYER}\n"}}) == CM_LAYER
    assert layer_archive({"data": {"sha256": "nope"}}) is None
    assert layer_archive({"data": None}) is None and layer_archive({}) is None
    referenced = referenced_archives([function(), {"spec": {}}], [{"data": {"sha256": CM_LAYER}}, {"data": {}}])
    assert referenced == {PKG, LAYER, CM_LAYER}


def test_only_unreferenced_archives_past_the_grace_period_are_deleted_oldest_first() -> None:
    stored = [
        ArchiveEntry(PKG, 10, NOW - 90_000),  # referenced, however old
        ArchiveEntry(LOOSE, 7, NOW - 7_200),  # unreferenced, two hours old: goes
        ArchiveEntry(OLD_PKG, 3, NOW - 90_000),  # unreferenced, older still: goes first
        ArchiveEntry(NEW, 4, NOW - 60),  # unreferenced but uploaded a minute ago: its Function may come
        ArchiveEntry(CM_LAYER, 9, NOW - 3_600),  # exactly the grace period: goes
    ]
    plan = archives_to_delete(stored, {PKG, LAYER}, NOW, 3_600)
    assert [e.sha256 for e in plan.delete] == [OLD_PKG, LOOSE, CM_LAYER]
    assert (plan.referenced, plan.too_recent) == (1, 1)
    assert archives_to_delete(stored, {PKG, LOOSE, OLD_PKG, NEW, CM_LAYER}, NOW, 0).delete == ()
    assert archives_to_delete([], set(), NOW, 0).delete == ()


def test_collection_settings() -> None:
    defaults = config_from_env({})
    assert (defaults.code_store_gc_interval_s, defaults.code_store_gc_grace_s) == (600.0, 3600.0)
    assert defaults.node_cache is None
    tuned = config_from_env(
        {
            "KUMO_CODE_STORE_GC_INTERVAL_S": "30",
            "KUMO_CODE_STORE_GC_GRACE_S": "0",
            "KUMO_NODE_CACHE_DIR": "/var/lib/kumo/packages/",
            "KUMO_NODE_CACHE_MAX_BYTES": "1048576",
        }
    )
    assert (tuned.code_store_gc_interval_s, tuned.code_store_gc_grace_s) == (30.0, 0.0)
    assert tuned.node_cache is not None
    assert (tuned.node_cache.host_path, tuned.node_cache.max_bytes) == ("/var/lib/kumo/packages", 1048576)
    assert config_from_env({"KUMO_CODE_STORE_GC_INTERVAL_S": "0"}).code_store_gc_interval_s is None
    for key, bad in (
        ("KUMO_CODE_STORE_GC_GRACE_S", "-5"),
        ("KUMO_CODE_STORE_GC_INTERVAL_S", "often"),
        ("KUMO_NODE_CACHE_DIR", "relative/dir"),
        ("KUMO_NODE_CACHE_DIR", "/"),
        ("KUMO_NODE_CACHE_MAX_BYTES", "0"),
    ):
        with pytest.raises(OperatorConfigError, match=key):
            config_from_env({key: bad})
