"""`kumo deploy MANIFESTS --url URL`: build packages locally, upload them to the cluster's code store,
print the manifests with `code.package` (for `kubectl apply -f -`).

Each Function whose code goes through the package builder (`code.path`, `code.zip`, `requirements`,
`provided*` runtimes) or that names layers is built exactly as `kumo up` builds it
(`kumo_gateway.local.packages`, cached in `<state-dir>/packages/`); the package dir is archived
deterministically (`kumo.packages.archive`) and, with each layer version from `<state-dir>/layers/`,
uploaded through the gateway's `/_kumo/packages/<sha256>` (admin token) unless the store already
has it. The printed Function carries `spec.code: {package: {sha256, size, layers}}` and no
`spec.layers`; every other document is printed unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from kumo.manifests import load_manifests, yaml_files
from kumo.packages.archive import archive_directory
from kumo.packages.build import build_package
from kumo.packages.code_store import PackageRef
from kumo.packages.layers import LayerStore
from kumo.packages.plan import PackageError
from kumo_gateway.local.packages import is_package, package_inputs


class DeployError(ValueError):
    """The manifests cannot be deployed; the message says which function and why."""


def packaged_function(doc: Mapping[str, Any], package: PackageRef, layers: list[PackageRef]) -> dict[str, Any]:
    """The Function document with its code replaced by the stored package (pure)."""
    out = copy.deepcopy(dict(doc))
    spec = out.setdefault("spec", {})
    stored: dict[str, Any] = {"sha256": package.sha256, "size": package.size}
    if layers:
        stored["layers"] = [{"sha256": ref.sha256, "size": ref.size} for ref in layers]
    spec["code"] = {"package": stored}
    spec.pop("layers", None)
    return out


def build_archives(paths: list[Path], state_dir: Path) -> dict[str, tuple[bytes, list[bytes]]]:
    """Function name -> (package archive, layer archives in order), for every Function that needs one."""
    manifests = load_manifests(paths)
    cache, layer_store = state_dir / "packages", LayerStore(state_dir)
    result: dict[str, tuple[bytes, list[bytes]]] = {}
    for name, function in manifests.functions.items():
        spec = function.spec
        if spec.code.image is not None or spec.code.package is not None:
            continue
        if not (is_package(spec) or spec.layers):
            continue  # inline and ConfigMap code deploys as it is (the operator's code ConfigMap)
        source_file = manifests.sources.get(("Function", name))
        base_dir = source_file.resolve().parent if source_file else Path.cwd()
        try:
            source, requirements = package_inputs(spec.code, base_dir, manifests.config_maps)
            built = build_package(name, source.files, requirements, spec.runtime, cache, executables=source.executables)
            layers = [archive_directory(path) for path in layer_store.resolve(spec.layers)]
        except (PackageError, ValueError) as exc:
            message = str(exc) if str(exc).startswith("function ") else f"function {name!r}: {exc}"
            raise DeployError(message) from None
        result[name] = (archive_directory(built.path), layers)
    return result


def deployed_documents(paths: list[Path], refs: Mapping[str, tuple[PackageRef, list[PackageRef]]]) -> list[Any]:
    """Every document of ``paths``, Functions in ``refs`` rewritten to their stored packages."""
    files, problems = yaml_files(paths)
    if problems:
        raise DeployError("; ".join(problems))
    docs: list[Any] = []
    for path in files:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == "Function":
                name = (doc.get("metadata") or {}).get("name")
                if name in refs:
                    doc = packaged_function(doc, *refs[name])
            if doc is not None:
                docs.append(doc)
    return docs


def deploy(
    paths: list[Path], state_dir: Path, upload: Callable[[bytes], tuple[PackageRef, bool]]
) -> tuple[str, list[str]]:
    """(the manifests as YAML, one progress line per archive) after uploading every package and layer."""
    refs: dict[str, tuple[PackageRef, list[PackageRef]]] = {}
    lines: list[str] = []
    for name, (package, layers) in build_archives(paths, state_dir).items():
        ref, created = upload(package)
        lines.append(f"function {name}: package {ref.sha256[:12]} ({ref.size} bytes) {_state(created)}")
        layer_refs = []
        for index, data in enumerate(layers, 1):
            layer_ref, created = upload(data)
            layer_refs.append(layer_ref)
            lines.append(f"function {name}: layer {index} {layer_ref.sha256[:12]} {_state(created)}")
        refs[name] = (ref, layer_refs)
    text = yaml.safe_dump_all(deployed_documents(paths, refs), sort_keys=False)
    return text, lines


def _state(created: bool) -> str:
    return "uploaded" if created else "already stored"
