"""Make a child match its desired state: create if missing, merge-patch if drifted, else leave it alone.

Drift is judged on the fields the operator sets (``is_subset``), so fields the API server defaults
never cause writes. Fields in ``create_only`` (``spec.replicas`` of Deployments, owned by the
autoscaler and the gateway; immutable ``volumeClaimTemplates``) are set on create and never again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from kumo.kube.client import KubeClient, KubeError, collection_path, object_path

#: Per kind: paths (tuples of keys) written only when the object is created.
CREATE_ONLY: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "replicas"),),
    "StatefulSet": (("spec", "volumeClaimTemplates"), ("spec", "selector"), ("spec", "serviceName")),
    "ConfigMap": (("data",), ("immutable",)),
    # A Secret's key is generated once (kumo_operator.function_credentials): never rewritten.
    "Secret": (("data",), ("type",)),
}


def is_subset(desired: Any, actual: Any) -> bool:
    """True when every value in ``desired`` is present and equal in ``actual`` (lists item by item)."""
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(is_subset(v, actual.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(is_subset(d, a) for d, a in zip(desired, actual, strict=True))
        )
    return desired == actual


def without(obj: Mapping[str, Any], paths: Sequence[tuple[str, ...]]) -> dict[str, Any]:
    """A deep copy of ``obj`` without the given paths."""
    result = copy.deepcopy(dict(obj))
    for path in paths:
        node: Any = result
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return result


def drift_patch(desired: Mapping[str, Any], actual: Mapping[str, Any]) -> dict[str, Any] | None:
    """The merge patch that reverts drift (metadata and spec-like parts), or ``None`` when none."""
    managed = without(desired, CREATE_ONLY.get(desired["kind"], ()))
    meta = managed.pop("metadata")
    managed.pop("apiVersion", None)
    managed.pop("kind", None)
    wanted_meta = {k: meta[k] for k in ("labels", "annotations", "ownerReferences") if k in meta}
    if is_subset(wanted_meta, actual.get("metadata", {})) and is_subset(managed, actual):
        return None
    return {"metadata": wanted_meta, **managed}


async def ensure(kube: KubeClient, desired: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Create or correct one object; returns ``("created"|"patched"|"unchanged", object)``."""
    kind, meta = desired["kind"], desired["metadata"]
    path = object_path(kind, meta["namespace"], meta["name"])
    actual = await kube.get(path)
    if actual is None:
        try:
            return "created", await kube.create(collection_path(kind, meta["namespace"]), dict(desired))
        except KubeError as exc:
            if exc.status != 409:
                raise
            actual = await kube.get(path)
            if actual is None:
                raise
    patch = drift_patch(desired, actual)
    if patch is None:
        return "unchanged", actual
    return "patched", await kube.patch(path, patch) or actual


async def create_once(kube: KubeClient, desired: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Create ``desired`` if missing; an existing object is left exactly as it is (published versions'
    children are immutable). Returns ``("created"|"exists", object)``."""
    kind, meta = desired["kind"], desired["metadata"]
    path = object_path(kind, meta["namespace"], meta["name"])
    actual = await kube.get(path)
    if actual is not None:
        return "exists", actual
    try:
        return "created", await kube.create(collection_path(kind, meta["namespace"]), dict(desired))
    except KubeError as exc:
        if exc.status != 409:
            raise
        return "exists", await kube.get(path) or dict(desired)
