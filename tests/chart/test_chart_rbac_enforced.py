"""The chart's rendered RBAC enforced by the emulator: real kubectl as the chart's service accounts is
allowed what the chart grants, refused (403) the rest, and the teardown check reports refused calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_rbac import assert_only_granted_calls, enforce_chart_rbac
from cluster import REPO, KubeApi


@pytest.fixture
def kube_crds() -> Path:
    return REPO / "charts" / "kumo" / "crds"


def kubectl_as(api: KubeApi, user: str, *args: str) -> Any:
    """kubectl impersonating ``user`` (client-go sends no bearer token over the emulator's plain http)."""
    return api.kubectl(f"--as={user}", *args)


def test_service_accounts_get_what_the_chart_grants_and_403_otherwise(kube_api: KubeApi) -> None:
    users = enforce_chart_rbac(kube_api)
    assert set(users) == {"operator", "gateway"}
    gateway, operator = users["gateway"], users["operator"]
    assert kubectl_as(kube_api, gateway, "get", "functions", "-A").returncode == 0
    assert kubectl_as(kube_api, operator, "create", "configmap", "c", "--from-literal=a=b").returncode == 0
    assert_only_granted_calls(kube_api.emulator.access_control, gateway, operator)

    refused = kubectl_as(kube_api, gateway, "delete", "configmap", "c")
    assert refused.returncode != 0
    assert 'configmaps "c" is forbidden' in refused.stderr
    assert f'User "{gateway}" cannot delete resource "configmaps" in API group "" in the namespace "default"' in (
        refused.stderr
    )
    assert kube_api.request("GET", "/api/v1/namespaces/default/configmaps/c").status_code == 200  # not deleted
    with pytest.raises(AssertionError) as report:
        assert_only_granted_calls(kube_api.emulator.access_control, gateway)
    assert f"{gateway}: delete configmaps.core c (namespace default)" in str(report.value)


def test_recording_reports_calls_even_without_enforcement(kube_api: KubeApi) -> None:
    users = enforce_chart_rbac(kube_api)
    kube_api.emulator.access_control.enforce = False
    operator = users["operator"]
    assert kubectl_as(kube_api, operator, "get", "secrets", "-n", "kube-system").returncode == 0  # served...
    with pytest.raises(AssertionError) as report:
        assert_only_granted_calls(kube_api.emulator.access_control)  # ...but reported
    assert f"{operator}: list secrets.core (namespace kube-system)" in str(report.value)


def test_namespaced_install_grants_only_in_the_watched_namespace(kube_api: KubeApi) -> None:
    kube_api.kubectl("create", "namespace", "apps")
    users = enforce_chart_rbac(kube_api, "watchNamespace=apps")
    gateway, operator = users["gateway"], users["operator"]
    assert kubectl_as(kube_api, gateway, "get", "functions", "-n", "apps").returncode == 0
    elsewhere = kubectl_as(kube_api, gateway, "get", "functions", "-n", "default")
    assert elsewhere.returncode != 0 and 'in the namespace "default"' in elsewhere.stderr
    cluster_wide = kubectl_as(kube_api, operator, "get", "namespaces")
    assert cluster_wide.returncode != 0 and "at the cluster scope" in cluster_wide.stderr
    with pytest.raises(AssertionError) as report:
        assert_only_granted_calls(kube_api.emulator.access_control)
    assert f"{operator}: list namespaces.core (cluster-wide)" in str(report.value)


def test_unknown_tokens_are_unauthorised(kube_api: KubeApi) -> None:
    response = kube_api.request("GET", "/apis/kumo.dev/v1alpha1/functions", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert response.json()["reason"] == "Unauthorized"
