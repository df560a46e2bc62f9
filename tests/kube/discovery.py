"""Discovery and OpenAPI documents for the served resource types (what kubectl reads first). Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from api_types import ApiError, ApiPath, ResourceType, parse_api_path


def versions(types: Iterable[ResourceType]) -> dict[str, list[str]]:
    """Served versions per group (``""`` is the core group), in registration order."""
    groups: dict[str, list[str]] = {}
    for rt in types:
        if rt.version not in groups.setdefault(rt.group, []):
            groups[rt.group].append(rt.version)
    return groups


def discovery(types: Collection[ResourceType], p: ApiPath) -> dict[str, Any]:
    """The discovery document for ``p`` (``/api``, ``/apis``, a group, a group version)."""
    groups = versions(types)

    def group_doc(name: str) -> dict[str, Any]:
        versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in groups[name]]
        return {"name": name, "versions": versions, "preferredVersion": versions[0]}

    if p.group == "*":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_doc(g) for g in sorted(groups) if g]}
    if p.group == "" and p.version is None:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }
    if p.group not in groups or (p.version is not None and p.version not in groups[p.group]):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if p.version is None:
        return {"kind": "APIGroup", "apiVersion": "v1"} | group_doc(p.group)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{p.group}/{p.version}" if p.group else p.version,
        "resources": list(resource_docs(types, p.group, p.version)),
    }


def resource_docs(types: Iterable[ResourceType], group: str, version: str) -> Iterator[dict[str, Any]]:
    for rt in sorted(types, key=lambda t: t.plural):
        if (rt.group, rt.version) != (group, version):
            continue
        yield {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs,
            "shortNames": rt.short_names,
            "categories": rt.categories,
        }
        for sub in sorted(rt.subresources):
            doc = {
                "name": f"{rt.plural}/{sub}",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                doc |= {"group": "autoscaling", "version": "v1", "kind": "Scale"}
            yield doc


def openapi(types: Collection[ResourceType], rv: int, path: str) -> dict[str, Any]:
    """Minimal OpenAPI v3: every operation advertises ``fieldValidation`` (server-side validation)."""
    if path.rstrip("/") == "/openapi/v3":
        return {
            "paths": {
                (f"apis/{g}/{v}" if g else f"api/{v}"): {
                    "serverRelativeURL": f"/openapi/v3/{f'apis/{g}/{v}' if g else f'api/{v}'}?hash={rv}"
                }
                for g, served in versions(types).items()
                for v in served
            }
        }
    if path.startswith("/openapi/v3/"):
        parsed = parse_api_path(path[len("/openapi/v3") :])
        if parsed is not None and parsed.version and parsed.plural is None:
            return openapi_group(types, parsed.group, parsed.version)
    raise ApiError(404, "NotFound", "the server could not find the requested resource")


def openapi_group(types: Iterable[ResourceType], group: str, version: str) -> dict[str, Any]:
    params = [
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
        {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
    ]
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        if (rt.group, rt.version) != (group, version):
            continue
        gvk = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
        op = {"parameters": params, "x-kubernetes-group-version-kind": gvk[0], "responses": {}}
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        paths[base] = {"post": op, "get": op}
        paths[f"{base}/{{name}}"] = {"put": op, "patch": op, "get": op, "delete": op}
        schema = dict(rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
        schemas[f"{group or 'core'}.{version}.{rt.kind}"] = schema | {"x-kubernetes-group-version-kind": gvk}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (kumo emulator)", "version": "v1.35.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
