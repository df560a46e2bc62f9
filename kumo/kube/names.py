"""Names, labels and owner references of the Kubernetes objects Kumo creates (pure; shared by operator and gateway)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

GROUP = "kumo.dev"
FUNCTION_LABEL = "kumo.dev/function"
VERSION_LABEL = "kumo.dev/version"
TABLE_LABEL = "kumo.dev/table"
#: Label of the ConfigMaps recording a cluster layer version; its archive's address is the data key
#: ``LAYER_SHA256_KEY`` (the code store's garbage collection keeps every archive one names).
LAYER_LABEL = "kumo.dev/layer"
LAYER_SHA256_KEY = "sha256"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kumo"
#: Annotation on children: the ``metadata.generation`` of the resource they were built from.
GENERATION_ANNOTATION = "kumo.dev/generation"

MAX_NAME = 63


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def bounded_name(name: str, limit: int = MAX_NAME) -> str:
    """``name`` as a DNS-1035 label of at most ``limit`` characters (stable, collision-resistant).

    Too-long names keep a prefix plus a hash of the whole; a leading digit gets ``k`` in front
    (Service names must start with a letter).
    """
    if not name[:1].isalpha():
        name = f"k{name}"
    if len(name) <= limit:
        return name
    suffix = short_hash(name, 8)
    return f"{name[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def version_child_name(function: str, version: str) -> str:
    """``<fn>-<version>``: the ConfigMap, Deployment and Service of one function version."""
    tail = f"-{version}"
    base = function if function[:1].isalpha() else f"k{function}"
    if len(base) + len(tail) <= MAX_NAME:
        return base + tail
    keep = MAX_NAME - len(tail) - 7
    return f"{base[:keep].rstrip('-')}-{short_hash(function)}{tail}"


#: Prefix of the version label (and child-name suffix) of a published version: ``<fn>-v<N>``.
PUBLISHED_PREFIX = "v"


def published_label(number: str | int) -> str:
    """``v<N>``: the ``kumo.dev/version`` label (and name suffix) of published version ``N``.

    ``$LATEST``'s children carry a hex hash, which never starts with ``v``."""
    return f"{PUBLISHED_PREFIX}{number}"


def is_published_label(label: str) -> bool:
    return label.startswith(PUBLISHED_PREFIX) and label[len(PUBLISHED_PREFIX) :].isdigit()


def function_labels(function: str, version: str) -> dict[str, str]:
    return {FUNCTION_LABEL: function, VERSION_LABEL: version, MANAGED_BY_LABEL: MANAGED_BY}


def table_labels(table: str) -> dict[str, str]:
    return {TABLE_LABEL: table, MANAGED_BY_LABEL: MANAGED_BY}


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """A controller reference to ``owner`` (deleting the owner deletes the child)."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(
    owner: Mapping[str, Any], name: str, labels: Mapping[str, str], generation: int | None = None
) -> dict[str, Any]:
    """Metadata of a child of ``owner``: same namespace, labels, owner reference, generation annotation."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "labels": dict(labels),
        "ownerReferences": [owner_reference(owner)],
    }
    if generation is not None:
        meta["annotations"] = {GENERATION_ANNOTATION: str(generation)}
    return meta


#: Port of every Kumo workload pod (function runtime hosts and partition servers).
POD_PORT = 8080
#: StatefulSet names stay short enough for ``<name>-<revision hash>`` labels (63 characters).
MAX_STATEFULSET_NAME = 52


def table_child_name(table: str) -> str:
    """``table-<name>``: the StatefulSet and headless Service of a Table's partitions."""
    return bounded_name(f"table-{table}", MAX_STATEFULSET_NAME)
