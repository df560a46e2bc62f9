"""The emulator's value types: API errors as ``Status`` objects, served resource types, watch events."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import crd_schema


class ApiError(Exception):
    """An error answered as a Kubernetes ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


@dataclass
class ResourceType:
    """One served group/version/resource, as shown by discovery."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    verbs: list[str] = field(
        default_factory=lambda: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    )
    subresources: set[str] = field(default_factory=set)
    schema: dict[str, Any] | None = None  # CRD openAPIV3Schema; None for built-ins
    custom: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass
class WatchEvent:
    rv: int
    group: str
    plural: str
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict[str, Any]
    old: dict[str, Any] | None = None


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invalid(rt: ResourceType, name: str | None, causes: list[crd_schema.Cause]) -> ApiError:
    """422 Invalid listing the causes, worded like kube-apiserver."""
    text = ", ".join(str(c) for c in causes)
    detail = f"[{text}]" if len(causes) > 1 else text
    return ApiError(
        422,
        "Invalid",
        f'{rt.kind}.{rt.group} "{name}" is invalid: {detail}',
        {"name": name, "group": rt.group, "kind": rt.kind, "causes": [c.as_dict() for c in causes]},
    )


@dataclass(frozen=True)
class ApiPath:
    """A parsed ``/api/...`` or ``/apis/...`` URL path."""

    group: str
    version: str | None = None
    namespace: str | None = None
    plural: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_api_path(path: str) -> ApiPath | None:
    """Split a Kubernetes REST path; None for non-resource paths (``/version``, ``/openapi``...)."""
    parts = [p for p in path.strip("/").split("/") if p]
    if parts[:1] == ["api"]:
        group, rest = "", parts[1:]
    elif parts[:1] == ["apis"] and len(parts) >= 2:
        group, rest = parts[1], parts[2:]
    elif parts[:1] == ["apis"]:
        return ApiPath(group="*")
    else:
        return None
    if not rest:
        return ApiPath(group=group)
    version, rest = rest[0], rest[1:]
    namespace = None
    if (
        rest[:1] == ["namespaces"]
        and len(rest) >= 3
        and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    rest += [None] * (3 - len(rest))  # type: ignore[list-item]
    return ApiPath(group, version, namespace, rest[0], rest[1], "/".join(rest[2:3]) if rest[2] else None)
