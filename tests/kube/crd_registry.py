"""CustomResourceDefinitions as the emulator serves them: validation, served resource types, status. Pure."""

from __future__ import annotations

import copy
from typing import Any

from api_types import ApiError, ResourceType, now

CRD_GROUP, CRD_PLURAL = "apiextensions.k8s.io", "customresourcedefinitions"


def check_crd(crd: dict[str, Any]) -> None:
    """422 Invalid unless the CRD names group, kind, plural, versions and scope, and is named ``<plural>.<group>``."""
    spec, names = crd.get("spec") or {}, (crd.get("spec") or {}).get("names") or {}
    causes = [
        f
        for f, ok in (
            ("spec.group", spec.get("group")),
            ("spec.names.plural", names.get("plural")),
            ("spec.names.kind", names.get("kind")),
            ("spec.versions", spec.get("versions")),
            ("spec.scope", spec.get("scope") in ("Namespaced", "Cluster")),
        )
        if not ok
    ]
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if not causes and crd["metadata"].get("name") != expected:
        causes.append("metadata.name")
    if causes:
        name = crd["metadata"].get("name")
        raise ApiError(
            422,
            "Invalid",
            f'CustomResourceDefinition.apiextensions.k8s.io "{name}" is invalid: '
            + ", ".join(f"{c}: Invalid value" for c in causes),
            {
                "name": name,
                "group": CRD_GROUP,
                "kind": "CustomResourceDefinition",
                "causes": [{"reason": "FieldValueInvalid", "field": c, "message": "Invalid value"} for c in causes],
            },
        )


def served_types(crd: dict[str, Any]) -> list[ResourceType]:
    """One :class:`ResourceType` per served version of ``crd``."""
    spec = crd["spec"]
    names = spec["names"]
    return [
        ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec.get("scope") == "Namespaced",
            singular=names.get("singular") or names["kind"].lower(),
            short_names=list(names.get("shortNames") or []),
            categories=list(names.get("categories") or []),
            subresources=set((version.get("subresources") or {}).keys()),
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            custom=True,
        )
        for version in spec["versions"]
        if version.get("served", True)
    ]


def accepted_status(crd: dict[str, Any]) -> dict[str, Any]:
    """The status the apiserver gives an accepted CRD: names accepted, established."""
    spec = crd["spec"]
    return {
        "acceptedNames": copy.deepcopy(spec["names"]),
        "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
        "conditions": [
            {"type": t, "status": "True", "reason": r, "message": "", "lastTransitionTime": now()}
            for t, r in (("NamesAccepted", "NoConflicts"), ("Established", "InitialNamesAccepted"))
        ],
    }
