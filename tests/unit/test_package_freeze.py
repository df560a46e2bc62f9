"""kumo.packages.freeze: what a version of a package function freezes (address, pinned layers, CodeSha256)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import PurePath

import pytest

from kumo.models import FunctionSpec
from kumo.packages.freeze import (
    address_code_sha256,
    freeze_spec,
    inline_snapshot,
    package_snapshot,
    pinned_layer_refs,
    pinned_packages,
    zip_code_sha256,
)
from kumo.versions import FunctionVersions, from_record, take_snapshot, to_record

NOW = "2024-05-01T12:00:00.000+0000"
ADDRESS_A = "ab" * 32
ADDRESS_B = "cd" * 32


def spec(**changes: object) -> FunctionSpec:
    return FunctionSpec.model_validate(
        {"runtime": "python3.12", "handler": "app.handler", "code": {"path": "src"}, **changes}
    )


def test_zip_code_sha256_is_lambdas_base64_sha256_of_the_zip() -> None:
    data = b"PK\x03\x04 not really a zip"
    assert zip_code_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_address_code_sha256_is_the_address_bytes() -> None:
    sha = address_code_sha256(ADDRESS_A)
    assert base64.b64decode(sha).hex() == ADDRESS_A and len(base64.b64decode(sha)) == 32
    with pytest.raises(ValueError):
        address_code_sha256("not-hex")


def test_pinned_layer_refs_names_exact_versions() -> None:
    dirs = [PurePath("/s/layers/deps/3"), PurePath("/s/layers/tools/1")]
    assert pinned_layer_refs(dirs) == ["deps:3", "tools:1"]


def test_freeze_spec_pins_layers_and_copies() -> None:
    original = spec(layers=["deps", "tools:1"])
    frozen = freeze_spec(original, ["deps:3", "tools:1"])
    assert frozen.layers == ["deps:3", "tools:1"] and original.layers == ["deps", "tools:1"]
    with pytest.raises(ValueError, match="2 layers declared, 1 resolved"):
        freeze_spec(original, ["deps:3"])


def test_package_snapshot_changes_with_address_and_layer_versions() -> None:
    base = package_snapshot(spec(), address=ADDRESS_A, code_sha256=address_code_sha256(ADDRESS_A), code_size=10)
    assert base.package == ADDRESS_A
    same = package_snapshot(spec(), address=ADDRESS_A, code_sha256=address_code_sha256(ADDRESS_A), code_size=10)
    other = package_snapshot(spec(), address=ADDRESS_B, code_sha256=address_code_sha256(ADDRESS_B), code_size=10)
    layered = spec(layers=["deps"])
    one = package_snapshot(layered, address=ADDRESS_A, code_sha256="x", code_size=1, layers=["deps:1"])
    two = package_snapshot(layered, address=ADDRESS_A, code_sha256="x", code_size=1, layers=["deps:2"])
    assert base.fingerprint == same.fingerprint
    assert len({base.fingerprint, other.fingerprint, one.fingerprint, two.fingerprint}) == 4
    registry = FunctionVersions()
    assert registry.publish(one, "", NOW) == (registry.versions["1"], True)
    assert registry.publish(one, "", NOW)[1] is False  # nothing changed: the same version
    assert registry.publish(two, "", NOW)[0].version == "2"  # only a new layer version: a new version


def test_inline_snapshot_without_layers_keeps_the_old_fingerprint() -> None:
    inline = FunctionSpec.model_validate(
        {"runtime": "python3.12", "handler": "app.handler", "code": {"inline": {"app.py": "x = 1\n"}}}
    )
    old = take_snapshot(inline, {"app.py": "x = 1\n"})
    assert inline_snapshot(inline, old.code_sha256, old.code_size).fingerprint == old.fingerprint
    assert inline_snapshot(inline, old.code_sha256, old.code_size).package is None


def test_records_keep_the_package_and_pinned_layers() -> None:
    registry = FunctionVersions()
    snapshot = package_snapshot(
        spec(layers=["deps"]), address=ADDRESS_A, code_sha256="c", code_size=5, layers=["deps:4"]
    )
    registry.publish(snapshot, "frozen", NOW)
    registry.publish(take_snapshot(spec(code={"inline": {"a.py": ""}}), {"a.py": ""}), "", NOW)
    loaded = from_record(to_record(registry))
    assert loaded.versions["1"].snapshot == registry.versions["1"].snapshot
    assert loaded.versions["1"].snapshot.spec.layers == ["deps:4"]
    assert loaded.versions["2"].snapshot.package is None
    assert "package" not in to_record(registry)["versions"][1]
    assert pinned_packages([loaded, FunctionVersions()]) == {ADDRESS_A}
