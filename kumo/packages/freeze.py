"""What a published version of a deployment-package function freezes (pure: no I/O).

A package function's ``$LATEST`` runs the content-addressed package dir ``<state-dir>/packages/<address>/``
(kumo.packages.build) and, with layers, the merged layer versions. Publishing a version records that
**address** and the **exact layer versions** (``NAME`` → ``NAME:N``) in the version's snapshot, so later
edits of the code dir, the zip, the requirements or a new layer version give ``$LATEST`` a new address and
leave the version as it was. Package dirs and layer versions are immutable, so nothing is copied.

``CodeSha256`` (base64 SHA-256, as Lambda reports it):

- ``code.zip`` without ``requirements``: the SHA-256 of the zip file's bytes — exactly Lambda's value for
  that deployment package (``openssl dgst -sha256 -binary f.zip | base64``); ``CodeSize`` its bytes.
- anything else built into a package (``code.path``, ``requirements``, a ``provided*`` runtime's inline
  code): the package's content address as bytes, i.e. the SHA-256 over the layout version, the code files
  (names, executable bits, contents), the normalized requirement lines, the runtime's Python version and
  the platform tag (kumo.packages.plan); ``CodeSize`` the bytes of the package's files (what runs).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from kumo.models import FunctionSpec
from kumo.versions import FunctionVersions, Snapshot, make_snapshot


def zip_code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256`` of a deployment package zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def address_code_sha256(address: str) -> str:
    """``CodeSha256`` of a built package: its content address (a hex SHA-256) in base64."""
    return base64.b64encode(bytes.fromhex(address)).decode()


def pinned_layer_refs(version_dirs: Sequence[PurePath]) -> list[str]:
    """``NAME:N`` of each layer version dir ``.../layers/NAME/N`` (kumo.packages.layers.LayerStore.resolve)."""
    return [f"{path.parent.name}:{path.name}" for path in version_dirs]


def freeze_spec(spec: FunctionSpec, layers: Sequence[str]) -> FunctionSpec:
    """``spec`` with its layers named by the exact versions ``$LATEST`` runs (a version never follows a layer)."""
    if len(layers) != len(spec.layers):
        raise ValueError(f"{len(spec.layers)} layers declared, {len(layers)} resolved")
    return spec.model_copy(deep=True, update={"layers": list(layers)})


def package_snapshot(
    spec: FunctionSpec, *, address: str, code_sha256: str, code_size: int, layers: Sequence[str] = ()
) -> Snapshot:
    """The snapshot a version of a package function freezes: the package address and the pinned layers."""
    return make_snapshot(freeze_spec(spec, layers), code_sha256, code_size, package=address)


def inline_snapshot(spec: FunctionSpec, sha: str, size: int, layers: Sequence[str] = ()) -> Snapshot:
    """The snapshot of inline/ConfigMap code (copied with the version) with pinned layers."""
    return make_snapshot(freeze_spec(spec, layers), sha, size)


def pinned_packages(registries: Iterable[FunctionVersions]) -> set[str]:
    """The package addresses published versions run: a cleanup of the package cache must keep these."""
    return {v.snapshot.package for registry in registries for v in registry.versions.values() if v.snapshot.package}
