"""The RBAC evaluator and request attributes (pure logic), and the emulator's 401/403 answers."""

from __future__ import annotations

import pytest
from access import AccessControl
from api_types import ApiError
from rbac import BOOTSTRAP, Attributes, Policy, request_attributes, service_account_user

GW = service_account_user("kumo", "gw")
OTHER = service_account_user("kumo", "other")


def role(kind: str, name: str, rules: list[dict], namespace: str | None = None) -> dict:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"kind": kind, "metadata": meta, "rules": rules}


def binding(kind: str, name: str, role_kind: str, subjects: list[dict], namespace: str | None = None) -> dict:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name}
    return {"kind": kind, "metadata": meta, "roleRef": ref, "subjects": subjects}


SA = [{"kind": "ServiceAccount", "name": "gw", "namespace": "kumo"}]
READ_FUNCTIONS = {"apiGroups": ["kumo.dev"], "resources": ["functions"], "verbs": ["get", "list", "watch"]}
SCALE = {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"]}


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/apis/kumo.dev/v1alpha1/namespaces/a/functions", {}, Attributes("list", "kumo.dev", "functions", "a")),
        ("GET", "/apis/kumo.dev/v1alpha1/functions", {"watch": "true"}, Attributes("watch", "kumo.dev", "functions")),
        ("GET", "/api/v1/namespaces/a/configmaps/x", {}, Attributes("get", "", "configmaps", "a", "x")),
        ("GET", "/api/v1/watch/namespaces/a/pods", {}, Attributes("watch", "", "pods", "a")),
        ("POST", "/api/v1/namespaces/a/events", {}, Attributes("create", "", "events", "a")),
        (
            "PUT",
            "/apis/apps/v1/namespaces/a/deployments/d/scale",
            {},
            Attributes("update", "apps", "deployments/scale", "a", "d"),
        ),
        (
            "PATCH",
            "/apis/kumo.dev/v1/namespaces/a/functions/f/status",
            {},
            Attributes("patch", "kumo.dev", "functions/status", "a", "f"),
        ),
        ("DELETE", "/api/v1/namespaces/a/services/s", {}, Attributes("delete", "", "services", "a", "s")),
        ("DELETE", "/api/v1/namespaces/a/services", {}, Attributes("deletecollection", "", "services", "a")),
        ("GET", "/api/v1/namespaces", {}, Attributes("list", "", "namespaces")),
        ("GET", "/api/v1/namespaces/a", {}, Attributes("get", "", "namespaces", "a", "a")),
        ("GET", "/apis/apps/v1", {}, Attributes("get", path="/apis/apps/v1")),
        ("GET", "/version", {}, Attributes("get", path="/version")),
    ],
)
def test_request_attributes_follow_the_apiserver(method: str, path: str, query: dict, expected: Attributes) -> None:
    assert request_attributes(method, path, query) == expected


def test_cluster_binding_allows_listed_verbs_everywhere_and_nothing_else() -> None:
    policy = Policy(
        [role("ClusterRole", "gw", [READ_FUNCTIONS, SCALE]), binding("ClusterRoleBinding", "gw", "ClusterRole", SA)]
    )
    assert policy.allows(GW, Attributes("watch", "kumo.dev", "functions"))  # every namespace
    assert policy.allows(GW, Attributes("get", "kumo.dev", "functions", "apps", "f"))
    assert policy.allows(GW, Attributes("patch", "apps", "deployments/scale", "apps", "d"))
    assert not policy.allows(GW, Attributes("patch", "kumo.dev", "functions", "apps", "f"))  # verb not granted
    assert not policy.allows(GW, Attributes("patch", "apps", "deployments", "apps", "d"))  # scale is not the parent
    assert not policy.allows(GW, Attributes("get", "kumo.dev", "functions/status", "apps", "f"))  # nor the reverse
    assert not policy.allows(GW, Attributes("get", "", "functions", "apps", "f"))  # wrong group
    assert not policy.allows(OTHER, Attributes("get", "kumo.dev", "functions", "apps", "f"))  # not a subject


def test_role_binding_grants_only_in_its_namespace() -> None:
    policy = Policy([role("Role", "gw", [READ_FUNCTIONS], "apps"), binding("RoleBinding", "gw", "Role", SA, "apps")])
    assert policy.allows(GW, Attributes("list", "kumo.dev", "functions", "apps"))
    assert not policy.allows(GW, Attributes("list", "kumo.dev", "functions", "other"))
    assert not policy.allows(GW, Attributes("list", "kumo.dev", "functions"))  # cluster-wide list
    # a RoleBinding to a ClusterRole still grants in the binding's namespace only
    policy = Policy(
        [role("ClusterRole", "gw", [READ_FUNCTIONS]), binding("RoleBinding", "gw", "ClusterRole", SA, "apps")]
    )
    assert policy.allows(GW, Attributes("get", "kumo.dev", "functions", "apps", "f"))
    assert not policy.allows(GW, Attributes("get", "kumo.dev", "functions", "b", "f"))
    # a Role of the same name in another namespace is not the one bound
    policy = Policy([role("Role", "gw", [READ_FUNCTIONS], "b"), binding("RoleBinding", "gw", "Role", SA, "apps")])
    assert not policy.allows(GW, Attributes("get", "kumo.dev", "functions", "apps", "f"))


def test_wildcards_resource_names_groups_and_non_resource_urls() -> None:
    rules = [
        {"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"], "resourceNames": ["cfg"]},
    ]
    subjects = [{"kind": "Group", "name": "system:serviceaccounts:kumo"}]
    policy = Policy(
        [*BOOTSTRAP, role("ClusterRole", "gw", rules), binding("ClusterRoleBinding", "gw", "ClusterRole", subjects)]
    )
    assert policy.allows(GW, Attributes("get", "apps", "statefulsets/scale", "a", "s"))
    assert not policy.allows(GW, Attributes("get", "apps", "statefulsets", "a", "s"))
    assert policy.allows(GW, Attributes("list", "apps", "deployments/status", "a"))  # "*" covers subresources
    assert policy.allows(GW, Attributes("delete", "", "configmaps", "a", "cfg"))
    assert not policy.allows(GW, Attributes("delete", "", "configmaps", "a", "other"))
    assert not policy.allows(GW, Attributes("list", "", "configmaps", "a"))  # resourceNames need a name
    assert policy.allows(GW, Attributes("get", path="/apis/kumo.dev/v1alpha1"))  # bootstrap discovery
    assert not policy.allows(GW, Attributes("get", path="/metrics"))
    assert not policy.allows(service_account_user("other-ns", "gw"), Attributes("list", "apps", "deployments", "a"))


def test_access_control_answers_401_and_403_like_the_apiserver_and_records_calls() -> None:
    policy = Policy(
        [role("ClusterRole", "gw", [READ_FUNCTIONS]), binding("ClusterRoleBinding", "gw", "ClusterRole", SA)]
    )
    control = AccessControl(policy=policy, enforce=True)
    control.add_token("t-gw", GW)
    assert control.check("Bearer t-gw", "GET", "/apis/kumo.dev/v1alpha1/functions", {"watch": "1"}).allowed
    with pytest.raises(ApiError) as denied:
        control.check("Bearer t-gw", "PATCH", "/apis/kumo.dev/v1alpha1/namespaces/a/functions/f", {})
    status = denied.value.status()
    assert (status["code"], status["reason"], status["kind"]) == (403, "Forbidden", "Status")
    assert status["message"] == (
        f'functions.kumo.dev "f" is forbidden: User "{GW}" cannot patch resource "functions" '
        'in API group "kumo.dev" in the namespace "a"'
    )
    with pytest.raises(ApiError) as unknown:
        control.check("Bearer nope", "GET", "/version", {})
    assert unknown.value.code == 401
    assert control.check("Bearer kumo-test-token", "DELETE", "/api/v1/namespaces/a", {}).allowed  # the test's admin
    assert [str(c) for c in control.unauthorised()] == [f"{GW}: patch functions.kumo.dev f (namespace a)"]
