"""Desired children of one Function version: code ConfigMap, Deployment, Service (pure builders)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kumo.kube.names import (
    FUNCTION_LABEL,
    POD_PORT,
    VERSION_LABEL,
    child_metadata,
    function_labels,
    published_label,
    version_child_name,
)
from kumo.models import FunctionSpec
from kumo_operator.config import OperatorConfig
from kumo_operator.function_credentials import credential_env
from kumo_operator.package_pods import fetch_init_container, package_runtime_env, package_volumes
from kumo_operator.platform_secret import platform_credential_env
from kumo_operator.pod_security import container_security_context, pod_security_context, readiness_probe
from kumo_operator.versions import function_version

PORT = POD_PORT
CODE_DIR = "/var/task"
#: Lambda gives a function one full vCPU at 1769 MB, and CPU in proportion below and above.
MB_PER_VCPU = 1769
#: Extra seconds after the function timeout for the runtime host to finish and exit.
GRACE_MARGIN_S = 5
#: On a code ConfigMap whose keys differ from the file paths: JSON ``{key: path}`` (a published version's
#: Deployment is rebuilt from its ConfigMap, so the paths must be readable there).
CODE_PATHS_ANNOTATION = "kumo.dev/code-paths"
_KEY_OK = re.compile(r"^[-._a-zA-Z0-9]+$")
_KEY_BAD_CHARS = re.compile(r"[^-._a-zA-Z0-9]")


@dataclass(frozen=True)
class FunctionVersion:
    """Everything built for one version of a Function."""

    version: str
    name: str
    config_map: dict[str, Any] | None
    deployment: dict[str, Any]
    service: dict[str, Any]

    @property
    def children(self) -> list[dict[str, Any]]:
        return [obj for obj in (self.config_map, self.deployment, self.service) if obj is not None]


def cpu_millicores(memory_mb: int) -> int:
    """CPU request in proportion to memory, as Lambda allocates it (1769 MB = 1 vCPU)."""
    return math.ceil(memory_mb * 1000 / MB_PER_VCPU)


def config_map_key(file_name: str) -> str:
    """A valid ConfigMap key for a code file name (``/`` and other characters are not allowed in keys)."""
    if _KEY_OK.match(file_name) and file_name not in (".", ".."):
        return file_name
    readable = _KEY_BAD_CHARS.sub("_", file_name)[:200]
    return f"{readable}.{hashlib.sha256(file_name.encode()).hexdigest()[:8]}"


def code_items(files: Mapping[str, str]) -> list[dict[str, str]]:
    """``items`` of the code volume: each encoded key back to its relative path (nested folders too)."""
    return [{"key": config_map_key(name), "path": name} for name in sorted(files)]


def escape_env_value(value: str) -> str:
    """Escape ``$`` so Kubernetes' ``$(VAR)`` expansion leaves the value exactly as given."""
    return value.replace("$", "$$")


def kubelet_expand(value: str) -> str:
    """What the kubelet makes of an escaped value (``$$`` -> ``$``); used to check the round trip."""
    return re.sub(r"\$\$", "$", value)


def runtime_env(
    name: str, version: str, spec: FunctionSpec, config: OperatorConfig, lambda_version: str = "$LATEST"
) -> dict[str, str]:
    """The ``KUMO_*`` variables ``kumo runtime`` reads (see ``kumo.runtime.config.config_from_env``).

    ``KUMO_FUNCTION_VERSION`` is Lambda's version: ``$LATEST`` (what AWS reports for unpublished code)
    or a published number; Kumo's own deployment version goes into ``KUMO_REVISION``.
    """
    return {
        "KUMO_FUNCTION_NAME": name,
        "KUMO_FUNCTION_VERSION": lambda_version,
        "KUMO_REVISION": version,
        "KUMO_HANDLER": spec.handler,
        "KUMO_RUNTIME": spec.runtime,
        "KUMO_CODE_DIR": CODE_DIR,
        "KUMO_MEMORY_MB": str(spec.memory),
        "KUMO_TIMEOUT_S": f"{spec.timeout:g}",
        "KUMO_ENVIRONMENT": json.dumps(dict(spec.environment), sort_keys=True, separators=(",", ":")),
        "KUMO_REGION": config.region,
        "KUMO_HOST": "0.0.0.0",
        "KUMO_PORT": str(PORT),
        # As local mode's platform_environment: unchanged SDK code reaches Kumo for both services.
        "AWS_ENDPOINT_URL": config.gateway_internal_url,
        "AWS_ENDPOINT_URL_LAMBDA": config.gateway_internal_url,
        "AWS_ENDPOINT_URL_DYNAMODB": config.gateway_internal_url,
    }


def build_config_map(fn: Mapping[str, Any], name: str, version: str, files: Mapping[str, str]) -> dict[str, Any]:
    metadata = child_metadata(fn, name, function_labels(fn["metadata"]["name"], version))
    paths = {config_map_key(file): file for file in files if config_map_key(file) != file}
    if paths:
        metadata.setdefault("annotations", {})[CODE_PATHS_ANNOTATION] = json.dumps(paths, sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata,
        "data": {config_map_key(file): text for file, text in files.items()},
        "immutable": True,
    }


def _pod_spec(
    fn_name: str,
    version: str,
    spec: FunctionSpec,
    config: OperatorConfig,
    code_volume: dict[str, Any] | None,
    lambda_version: str,
) -> dict[str, Any]:
    memory = f"{spec.memory}Mi"
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": f"{spec.ephemeral_storage}Mi"}}]
    if code_volume is not None:
        mounts.append({"name": "code", "mountPath": CODE_DIR, "readOnly": True})
        volumes.append({"name": "code", "configMap": code_volume})
    image = spec.code.image or config.runtime_image(spec.runtime)
    env = runtime_env(fn_name, version, spec, config, lambda_version) | package_runtime_env(spec, CODE_DIR)
    init_containers = []
    if spec.code.package is not None:  # fetched from the code store at start (kumo_operator.package_pods)
        package_vols, package_mounts = package_volumes(spec, CODE_DIR, config.node_cache)
        volumes += package_vols
        mounts += package_mounts
        init_containers.append(
            fetch_init_container(
                spec, image, config.code_store_url, config.platform_credential, CODE_DIR, config.node_cache
            )
        )
    container = {
        "name": "function",
        "image": image,
        "command": ["kumo", "runtime"],
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [
            *({"name": key, "value": escape_env_value(value)} for key, value in env.items()),
            *credential_env(fn_name),
            *platform_credential_env(config.platform_credential),
        ],
        "resources": {
            "requests": {"cpu": f"{cpu_millicores(spec.memory)}m", "memory": memory},
            "limits": {"memory": memory},
        },
        "readinessProbe": readiness_probe(),
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    pod = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": math.ceil(spec.timeout) + GRACE_MARGIN_S,
        "securityContext": pod_security_context(),
        "containers": [container],
        "volumes": volumes,
    }
    if init_containers:
        pod["initContainers"] = init_containers
    return pod


def build_function_version(
    fn: Mapping[str, Any],
    spec: FunctionSpec,
    config: OperatorConfig,
    *,
    code_files: Mapping[str, str] | None = None,
    published: str | None = None,
) -> FunctionVersion:
    """The ConfigMap (inline or copied ``configMap`` code), Deployment and Service of ``fn``'s current version.

    ``fn`` is the Function object as the API server returns it (metadata with ``uid``);
    ``code_files`` the data of the ConfigMap ``code.configMap`` names (ignored otherwise).
    ``published``: build published version ``N`` instead of ``$LATEST`` -- children ``<fn>-v<N>``,
    ``KUMO_FUNCTION_VERSION=N``, zero replicas until requested, no generation annotation (never patched).
    """
    meta = fn["metadata"]
    fn_name = meta["name"]
    files = spec.code.inline if spec.code.inline is not None else None
    if spec.code.config_map is not None:
        files = dict(code_files or {})
    if published is not None:
        version = published_label(published)
    else:
        version = function_version(spec, code_files if spec.code.config_map is not None else None)
    name = version_child_name(fn_name, version)
    labels = function_labels(fn_name, version)
    selector = {FUNCTION_LABEL: fn_name, VERSION_LABEL: version}
    config_map = build_config_map(fn, name, version, files) if files is not None else None
    code_volume = {"name": name, "items": code_items(files)} if files is not None else None
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": child_metadata(fn, name, labels, None if published else meta.get("generation")),
        "spec": {
            "replicas": 0 if published else spec.scaling.min_instances,
            "revisionHistoryLimit": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": _pod_spec(fn_name, version, spec, config, code_volume, published or "$LATEST"),
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(fn, name, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return FunctionVersion(version, name, config_map, deployment, service)
