"""Render charts/kumo with the real helm binary and pick the rendered objects apart."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "kumo"
HELM = REPO / "hack" / "bin" / "helm"

Object = dict[str, Any]
#: One RBAC permission: (apiGroup, resource, verb).
Permission = tuple[str, str, str]


def run_helm(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run helm (no cluster access needed for lint/template); never raises on a non-zero exit."""
    return subprocess.run([str(HELM), *args], capture_output=True, text=True, timeout=timeout, check=False)


def template_text(*values: str, release: str = "kumo", namespace: str = "kumo") -> str:
    """``helm template`` output for ``--set`` assignments like ``"watchNamespace=apps"``."""
    args = ["template", release, str(CHART), "--namespace", namespace]
    for assignment in values:
        args += ["--set", assignment]
    result = run_helm(*args)
    if result.returncode != 0:
        raise AssertionError(f"helm template failed: {result.stderr}")
    return result.stdout


@functools.cache
def render(*values: str, release: str = "kumo", namespace: str = "kumo") -> tuple[Object, ...]:
    """The rendered objects (CRDs excluded: ``helm template`` leaves them out without --include-crds)."""
    docs = yaml.safe_load_all(template_text(*values, release=release, namespace=namespace))
    return tuple(doc for doc in docs if doc)


def find(objects: Iterable[Object], kind: str, name: str | None = None) -> list[Object]:
    """Objects of ``kind`` (and ``metadata.name`` when given)."""
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: Iterable[Object], kind: str, name: str) -> Object:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def permissions(rules: Iterable[dict[str, Any]]) -> set[Permission]:
    """Flatten RBAC rules into (group, resource, verb) triples."""
    out: set[Permission] = set()
    for rule in rules:
        assert not rule.get("resourceNames") and not rule.get("nonResourceURLs"), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb))
    return out


def expand(group: str, resources: Iterable[str], verbs: Iterable[str]) -> set[Permission]:
    """All (group, resource, verb) combinations: the expected side of a permission check."""
    return {(group, r, v) for r in resources for v in verbs}


def containers(workload: Object) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]
