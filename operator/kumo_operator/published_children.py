"""Published versions are self-healing: each reconcile checks every ``status.versions`` entry's children
(``<fn>-v<N>``: immutable code ConfigMap, Deployment, Service) and rebuilds a deleted Deployment or
Service from the version's frozen configuration (``config`` in the entry) and its frozen code (the
immutable ConfigMap; for ``code.image`` versions the ``image`` in the entry, for ``code.package`` versions
the ``package`` in the entry: its archives stay in the code store). If the ConfigMap itself is
gone the code is lost: the entry is kept and marked ``state: Failed`` with a ``stateReason`` (Lambda's
``State``/``StateReason`` words), and the Function's ``PublishedVersions`` condition says which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kumo.kube.client import KubeClient, object_path
from kumo.kube.names import published_label, version_child_name
from kumo.kube.published import frozen_spec
from kumo.models import FunctionSpec
from kumo_operator.apply import create_once
from kumo_operator.config import OperatorConfig
from kumo_operator.function_resources import CODE_PATHS_ANNOTATION, build_function_version

FAILED = "Failed"


def code_of(config_map: Mapping[str, Any]) -> dict[str, str]:
    """A version's code files from its ConfigMap: keys back to paths (the ``code-paths`` annotation)."""
    data = dict(config_map.get("data") or {})
    annotations = (config_map.get("metadata") or {}).get("annotations") or {}
    try:
        paths = json.loads(annotations.get(CODE_PATHS_ANNOTATION) or "{}")
    except ValueError:
        paths = {}
    return {str(paths.get(key, key)): text for key, text in data.items()}


def rebuild_spec(current: FunctionSpec, record: Mapping[str, Any], files: Mapping[str, str] | None) -> FunctionSpec:
    """The version's own spec: its frozen configuration, its code (files, or the recorded image)."""
    spec = frozen_spec(current, record.get("config") or {})
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    if files is not None:
        data["code"] = {"inline": dict(files)}
    elif "package" in record:
        data["code"] = {"package": record["package"]}
    else:
        data["code"] = {"image": record["image"]}
    return FunctionSpec.model_validate(data)


def failed(record: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {**record, "state": FAILED, "stateReason": reason}


async def heal_published(
    kube: KubeClient, fn: Mapping[str, Any], spec: FunctionSpec, config: OperatorConfig, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """``(records, rebuilt children, failure messages)`` after checking every published version."""
    meta = fn["metadata"]
    out: list[dict[str, Any]] = []
    rebuilt: list[str] = []
    failures: list[str] = []
    for record in records:
        if not isinstance(record, dict) or "version" not in record:
            out.append(record)
            continue
        number = str(record["version"])
        name = version_child_name(meta["name"], published_label(number))
        if record.get("state") == FAILED:
            out.append(record)
            failures.append(f"version {number}: {record.get('stateReason', '')}")
            continue
        files: dict[str, str] | None = None
        if "image" not in record and "package" not in record:
            config_map = await kube.get(object_path("ConfigMap", meta["namespace"], name))
            if config_map is None:
                reason = (
                    f"ConfigMap {name} (the version's frozen code) was deleted; the version cannot be rebuilt "
                    "(publish again, or delete the Function to remove it)"
                )
                out.append(failed(record, reason))
                failures.append(f"version {number}: {reason}")
                continue
            files = code_of(config_map)
        present = [
            await kube.get(object_path(kind, meta["namespace"], name)) is not None for kind in ("Deployment", "Service")
        ]
        if not all(present):
            built = build_function_version(fn, rebuild_spec(spec, record, files), config, published=number)
            for obj in (built.deployment, built.service):
                if (await create_once(kube, obj))[0] == "created":
                    rebuilt.append(f"{obj['kind']}/{name}")
        out.append(record)
    return out, rebuilt, failures
