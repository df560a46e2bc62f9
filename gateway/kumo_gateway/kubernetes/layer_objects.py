"""Layer versions as Kubernetes objects (pure; no I/O): one ConfigMap per published version.

``kubectl get cm -l kumo.dev/layer`` shows them; every gateway replica reads the same objects. A
version's ConfigMap is named ``kumo-layer-<slug>-<hash>-<N>`` (the slug and a hash of the exact layer
name: ConfigMap names are lowercase, layer names are not), is ``immutable`` and holds the archive's
SHA-256 and size (the code store's address) with Lambda's metadata. Versions are numbered by creating
the next name: the API server refuses a second create of the same name (409), so two replicas publishing
at once get distinct numbers. DeleteLayerVersion creates a *tombstone* ConfigMap beside the version
(``…-<N>-deleted``): the number stays taken and the archive stays for functions that use it, and the
gateway needs no right to change or delete any ConfigMap (only create and list).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kumo.kube.names import LAYER_LABEL, LAYER_SHA256_KEY
from kumo_gateway.lambda_.layer_versions import LayerVersion

VERSION_LABEL = "kumo.dev/layer-version"
STATE_LABEL = "kumo.dev/layer-state"
MANAGED_BY = ("app.kubernetes.io/managed-by", "kumo-lambda-api")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def layer_label(name: str) -> str:
    """The ``kumo.dev/layer`` label value: the name when a label can hold it, else a hash of it (the
    ConfigMap's ``name`` field is the truth: listings compare it)."""
    return name if _LABEL_VALUE.match(name) else f"h-{_digest(name)[:40]}"


def selector(name: str) -> str:
    return f"{LAYER_LABEL}={layer_label(name)}"


def config_map_name(name: str, version: int, deleted: bool = False) -> str:
    slug = re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-")[:40].strip("-") or "layer"
    return f"kumo-layer-{slug}-{_digest(name)[:10]}-{version}" + ("-deleted" if deleted else "")


def _labels(name: str, version: int, state: str) -> dict[str, str]:
    return {
        LAYER_LABEL: layer_label(name),
        VERSION_LABEL: str(version),
        STATE_LABEL: state,
        MANAGED_BY[0]: MANAGED_BY[1],
    }


def version_object(layer: LayerVersion, namespace: str) -> dict[str, Any]:
    """The ConfigMap of a published version."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(layer.name, layer.version),
            "namespace": namespace,
            "labels": _labels(layer.name, layer.version, "published"),
        },
        "immutable": True,
        "data": {
            "name": layer.name,
            "version": str(layer.version),
            LAYER_SHA256_KEY: layer.sha256,
            "size": str(layer.size),
            "description": layer.description,
            "createdDate": layer.created,
            "compatibleRuntimes": json.dumps(list(layer.runtimes)),
        },
    }


def tombstone_object(name: str, version: int, namespace: str) -> dict[str, Any]:
    """The ConfigMap that marks version ``version`` of ``name`` deleted."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(name, version, deleted=True),
            "namespace": namespace,
            "labels": _labels(name, version, "deleted"),
        },
        "immutable": True,
        "data": {"name": name, "version": str(version)},
    }


def _read(obj: Mapping[str, Any]) -> LayerVersion | None:
    data = obj.get("data") or {}
    try:
        runtimes = json.loads(data.get("compatibleRuntimes") or "[]")
        return LayerVersion(
            str(data["name"]),
            int(data["version"]),
            str(data[LAYER_SHA256_KEY]),
            int(data["size"]),
            str(data.get("description") or ""),
            str(data.get("createdDate") or "1970-01-01T00:00:00.000+0000"),
            tuple(str(r) for r in runtimes),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _state(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(STATE_LABEL) or "")


def layer_versions(objects: Iterable[Mapping[str, Any]], name: str) -> tuple[list[LayerVersion], int]:
    """``(versions of name not deleted, oldest first; the highest number ever taken)`` from its ConfigMaps."""
    published: dict[int, LayerVersion] = {}
    deleted: set[int] = set()
    for obj in objects:
        data = obj.get("data") or {}
        if data.get("name") != name:
            continue  # a name whose label value collides (a hash): not this layer
        if _state(obj) == "deleted":
            try:
                deleted.add(int(data.get("version")))
            except (TypeError, ValueError):
                continue
        elif (layer := _read(obj)) is not None:
            published[layer.version] = layer
    highest = max([*published, *deleted], default=0)
    return [published[n] for n in sorted(published) if n not in deleted], highest


def layer_names(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of layers with a version not deleted."""
    objects = list(objects)
    names = {str((obj.get("data") or {}).get("name")) for obj in objects if _state(obj) == "published"}
    return sorted(n for n in names if layer_versions(objects, n)[0]) if names else []
