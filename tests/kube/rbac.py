"""A small RBAC authorizer (pure logic): request attributes as kube-apiserver computes them, and
Role/ClusterRole rules reached through RoleBinding/ClusterRoleBinding subjects.

``request_attributes`` follows the apiserver's ``RequestInfoFactory``: the verb comes from the HTTP
method, whether a name is present and ``watch=true`` (get/list/watch/create/update/patch/delete/
deletecollection); the resource includes the subresource (``deployments/scale``); a ``namespaces``
request's namespace is its name. ``Policy`` evaluates rules with ``*`` wildcards (apiGroups, resources,
verbs, ``*/scale``), ``resourceNames`` and ``nonResourceURLs`` (with a trailing ``*``), for users and
their groups (``ServiceAccount`` subjects, ``system:serviceaccounts[:<ns>]``, ``system:authenticated``).
A RoleBinding grants only in its own namespace; a ClusterRoleBinding everywhere, cluster scope included.
``BOOTSTRAP`` holds the default ``system:discovery`` grant every authenticated user has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True, order=True)
class Attributes:
    """What is authorised: one request's (verb, group, resource[/subresource], namespace, name) or path."""

    verb: str
    group: str = ""
    resource: str = ""
    namespace: str = ""  # "" is cluster scope (or every namespace, for a list/watch of a namespaced resource)
    name: str = ""
    path: str = ""  # set for non-resource requests only

    @property
    def resource_request(self) -> bool:
        return not self.path

    def __str__(self) -> str:
        if not self.resource_request:
            return f"{self.verb} {self.path}"
        where = f"namespace {self.namespace}" if self.namespace else "cluster-wide"
        named = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.resource}.{self.group or 'core'}{named} ({where})"


_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The RBAC attributes kube-apiserver derives from one HTTP request."""
    method = method.upper()
    parts = [p for p in path.strip("/").split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, rest = parts[1], parts[3:]
    else:  # /version, /openapi/..., discovery (/api, /apis/<group>[/<version>]), /healthz
        verb = {"GET": "get", "HEAD": "get"}.get(method, method.lower())
        return Attributes(verb=verb, path="/" + "/".join(parts))
    watch = False
    if rest[:1] == ["watch"]:  # the deprecated /api/v1/watch/... form
        watch, rest = True, rest[1:]
    namespace = ""
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource, name = rest[0], rest[1] if len(rest) > 1 else ""
    if len(rest) > 2:
        resource = f"{resource}/{rest[2]}"
    if resource == "namespaces" and name:
        namespace = name  # the apiserver treats a namespace as living in itself
    watch = watch or query.get("watch") in ("true", "1")
    if method in ("GET", "HEAD"):
        verb = "watch" if watch else ("get" if name else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _METHOD_VERBS.get(method, method.lower())
    return Attributes(verb=verb, group=group, resource=resource, namespace=namespace, name=name)


def service_account_user(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def groups_of(user: str) -> frozenset[str]:
    """The groups the apiserver's token authenticators put a user in."""
    groups = {"system:authenticated"}
    if user.startswith(SA_PREFIX):
        namespace = user[len(SA_PREFIX) :].split(":", 1)[0]
        groups |= {"system:serviceaccounts", f"system:serviceaccounts:{namespace}"}
    return frozenset(groups)


def _matches(values: Iterable[str], wanted: str) -> bool:
    return any(v in ("*", wanted) for v in values)


def _resource_matches(rule_resources: Iterable[str], resource: str) -> bool:
    sub = resource.split("/", 1)[1] if "/" in resource else None
    return any(r in ("*", resource) or (sub is not None and r == f"*/{sub}") for r in rule_resources)


def _path_matches(rule_paths: Iterable[str], path: str) -> bool:
    return any(p in ("*", path) or (p.endswith("*") and path.startswith(p[:-1])) for p in rule_paths)


def rule_allows(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    """Whether one PolicyRule covers the request."""
    if not _matches(rule.get("verbs") or [], attrs.verb):
        return False
    if not attrs.resource_request:
        return _path_matches(rule.get("nonResourceURLs") or [], attrs.path)
    if not _matches(rule.get("apiGroups") or [], attrs.group):
        return False
    if not _resource_matches(rule.get("resources") or [], attrs.resource):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _subject_matches(subject: Mapping[str, Any], binding_ns: str, user: str, groups: frozenset[str]) -> bool:
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        return user == service_account_user(subject.get("namespace") or binding_ns, subject.get("name", ""))
    if kind == "User":
        return user == subject.get("name")
    if kind == "Group":
        return subject.get("name") in groups
    return False


BOOTSTRAP: tuple[Object, ...] = (
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:discovery"},
        "rules": [
            {
                "verbs": ["get"],
                "nonResourceURLs": [
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            }
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "system:discovery"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:discovery"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}],
    },
)


class Policy:
    """The RBAC objects of a cluster (e.g. a rendered chart plus ``BOOTSTRAP``), queried per request."""

    def __init__(self, objects: Iterable[Object]) -> None:
        objects = [o for o in objects if o]
        self.roles = {
            (o["kind"], o["metadata"].get("namespace", "") if o["kind"] == "Role" else "", o["metadata"]["name"]): o
            for o in objects
            if o.get("kind") in ("Role", "ClusterRole")
        }
        self.bindings = [o for o in objects if o.get("kind") in ("RoleBinding", "ClusterRoleBinding")]

    def _rules(self, binding: Object) -> list[Object]:
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace", "") if ref["kind"] == "Role" else ""
        role = self.roles.get((ref["kind"], namespace, ref["name"]))
        return list((role or {}).get("rules") or [])

    def allows(self, user: str, attrs: Attributes) -> bool:
        groups = groups_of(user)
        for binding in self.bindings:
            namespace = binding["metadata"].get("namespace", "")
            if binding["kind"] == "RoleBinding" and (not attrs.resource_request or attrs.namespace != namespace):
                continue
            if not any(_subject_matches(s, namespace, user, groups) for s in binding.get("subjects") or []):
                continue
            if any(rule_allows(rule, attrs) for rule in self._rules(binding)):
                return True
        return False

    def service_accounts(self) -> set[str]:
        """Every ServiceAccount named by a binding subject, as a user name."""
        return {
            service_account_user(s.get("namespace") or b["metadata"].get("namespace", ""), s["name"])
            for b in self.bindings
            for s in b.get("subjects") or []
            if s.get("kind") == "ServiceAccount"
        }
