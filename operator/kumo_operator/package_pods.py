"""The pod side of a Function with ``code.package`` (pure builders): the fetch init container, volumes.

A package from the code store (docs/code-store.md) reaches the pod through an init container
running ``kumo package fetch``: it downloads the package and the layers' archives, verifies each
SHA-256 and size against the Function's spec (a mismatch exits 1 with a ``REFUSED`` line: the pod
never starts), and extracts them into two emptyDirs that the function container mounts read-only
at ``/var/task`` and ``/opt``. The image is the function's own runtime image (it has ``kumo``).
Before building pods the operator checks that the store has every archive (:func:`package_problem`):
a missing one keeps the Function not Ready with a Warning event instead of crash-looping pods.

With the chart's ``codeStore.nodeCache`` (``KUMO_NODE_CACHE_DIR``) the init container alone also
mounts the node's cache directory (a hostPath: see docs/code-store.md for its Pod Security cost)
and passes ``--cache-dir``; the function container never sees it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kumo.models.function import CUSTOM_RUNTIMES, FunctionSpec, StoredArchive
from kumo.packages.code_store import PackageRef, StoreError
from kumo.packages.layers import opt_environment
from kumo.packages.plan import MAX_UNZIPPED_BYTES
from kumo.packages.store_client import credential_headers, missing_archives
from kumo.runtime.environment import DEFAULT_PATH
from kumo_operator.config import NodeCacheSetting
from kumo_operator.platform_secret import platform_credential_env
from kumo_operator.pod_security import container_security_context

FETCH_CONTAINER = "fetch-package"
OPT_DIR = "/opt"
#: Where the fetch init container mounts the node's cache (``codeStore.nodeCache``).
NODE_CACHE_VOLUME = "package-cache"
NODE_CACHE_MOUNT = "/var/cache/kumo-packages"
#: Room for the largest package Lambda accepts unzipped (250 MB), in each emptyDir.
EMPTY_DIR_LIMIT = f"{MAX_UNZIPPED_BYTES // (1024 * 1024) + 6}Mi"


class CodeStoreMissing(ValueError):
    """A Function has ``code.package`` but the operator has no code store URL (chart: codeStore.enabled)."""


def archive_arg(archive: StoredArchive) -> str:
    """``<sha256>:<size>``, as ``kumo package fetch`` reads it (kumo.packages.fetch.parse_ref)."""
    return f"{archive.sha256}:{archive.size}"


def fetch_command(
    spec: FunctionSpec, store_url: str, code_dir: str, node_cache: NodeCacheSetting | None = None
) -> list[str]:
    package = spec.code.package
    assert package is not None
    command = ["kumo", "package", "fetch", "--store-url", store_url, "--package", archive_arg(package)]
    command += ["--code-dir", code_dir]
    for layer in package.layers:
        command += ["--layer", archive_arg(layer)]
    if package.layers:
        command += ["--opt-dir", OPT_DIR]
    if node_cache is not None:
        command += ["--cache-dir", NODE_CACHE_MOUNT, "--cache-max-bytes", str(node_cache.max_bytes)]
    return command


def package_volumes(
    spec: FunctionSpec, code_dir: str, node_cache: NodeCacheSetting | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, the function container's read-only mounts) for the package, its layers and the node cache."""
    package = spec.code.package
    assert package is not None
    volumes = [{"name": "code", "emptyDir": {"sizeLimit": EMPTY_DIR_LIMIT}}]
    mounts = [{"name": "code", "mountPath": code_dir, "readOnly": True}]
    if package.layers:
        volumes.append({"name": "opt", "emptyDir": {"sizeLimit": EMPTY_DIR_LIMIT}})
        mounts.append({"name": "opt", "mountPath": OPT_DIR, "readOnly": True})
    if node_cache is not None:  # the init container's alone
        volumes.append(
            {"name": NODE_CACHE_VOLUME, "hostPath": {"path": node_cache.host_path, "type": "DirectoryOrCreate"}}
        )
    return volumes, mounts


def fetch_init_container(
    spec: FunctionSpec,
    image: str,
    store_url: str | None,
    credential: str | None,
    code_dir: str,
    node_cache: NodeCacheSetting | None = None,
) -> dict[str, Any]:
    """The init container that fetches, verifies and extracts the package (CodeStoreMissing without a store)."""
    if not store_url:
        raise CodeStoreMissing("code.package needs the code store (chart value codeStore.enabled=true)")
    _, mounts = package_volumes(spec, code_dir)
    mounts = [{**mount, "readOnly": False} for mount in mounts]
    if node_cache is not None:
        mounts.append({"name": NODE_CACHE_VOLUME, "mountPath": NODE_CACHE_MOUNT})
    return {
        "name": FETCH_CONTAINER,
        "image": image,
        "command": fetch_command(spec, store_url, code_dir, node_cache),
        "env": platform_credential_env(credential),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }


def package_runtime_env(spec: FunctionSpec, code_dir: str) -> dict[str, str]:
    """``KUMO_*`` variables for ``kumo runtime``: ``provided*`` starts ``bootstrap``; layers are ``/opt``."""
    env: dict[str, str] = {}
    if spec.runtime in CUSTOM_RUNTIMES:
        env["KUMO_COMMAND"] = json.dumps([f"{code_dir}/bootstrap"])
    package = spec.code.package
    if package is not None and package.layers:
        platform = opt_environment(Path(OPT_DIR), DEFAULT_PATH)
        env["KUMO_PLATFORM_ENVIRONMENT"] = json.dumps(platform, sort_keys=True)
    return env


async def package_problem(spec: FunctionSpec, store_url: str | None, credential: str | None) -> tuple[str, str] | None:
    """(reason, message) when the Function's package cannot be fetched: no code store, or archives missing.

    The one I/O here: HEADs to the code store (kumo.packages.store_client.missing_archives).
    """
    package = spec.code.package
    if package is None:
        return None
    if not store_url:
        return "CodeStoreNotConfigured", "code.package needs the code store (chart value codeStore.enabled=true)"
    refs = [PackageRef(a.sha256, a.size) for a in (package, *package.layers)]
    try:
        problems = await missing_archives(store_url, credential_headers(credential), refs)
    except StoreError as exc:
        return "CodeStoreUnavailable", str(exc)
    return ("PackageNotFound", "; ".join(problems)) if problems else None
