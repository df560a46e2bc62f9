"""charts/kumo applied to the API-server emulator with the real kubectl and helm."""

from __future__ import annotations

import base64
import json

from chart_render import CHART, template_text
from cluster import KubeApi

NAMESPACE = "kumo"


def names(api: KubeApi, path: str) -> set[str]:
    return {o["metadata"]["name"] for o in api.list(path)}


def create_namespace(api: KubeApi, name: str) -> None:
    result = api.kubectl("create", "namespace", name)
    assert result.returncode == 0, result.stderr


def assert_installed(api: KubeApi, release: str = "kumo") -> None:
    """The chart's workloads, Services, ServiceAccounts and RBAC exist in the emulator."""
    base = f"/apis/apps/v1/namespaces/{NAMESPACE}"
    assert names(api, f"{base}/deployments") == {
        f"{release}-gateway",
        f"{release}-operator",
        f"{release}-worker",
        f"{release}-codestore",
    }
    assert names(api, f"{base}/statefulsets") == {f"{release}-redis"}
    assert names(api, f"/api/v1/namespaces/{NAMESPACE}/services") == {
        f"{release}-gateway",
        f"{release}-redis",
        f"{release}-codestore",
    }
    assert {f"{release}-gateway", f"{release}-operator"} <= names(
        api, f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts"
    )
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    assert {f"{release}-gateway", f"{release}-operator"} <= names(api, f"{rbac}/clusterroles")
    assert {f"{release}-gateway", f"{release}-operator"} <= names(api, f"{rbac}/clusterrolebindings")
    gateway = api.get(f"{base}/deployments/{release}-gateway")
    assert gateway["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["gateway", "--kubernetes"]


def test_helm_template_piped_to_kubectl_apply(kube_api: KubeApi) -> None:
    create_namespace(kube_api, NAMESPACE)
    crds = kube_api.kubectl("apply", "-f", str(CHART / "crds"))
    assert crds.returncode == 0, crds.stderr
    manifest = template_text(release="kumo", namespace=NAMESPACE)
    applied = kube_api.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=manifest)
    assert applied.returncode == 0, applied.stderr
    assert "deployment.apps/kumo-gateway created" in applied.stdout
    assert "clusterrole.rbac.authorization.k8s.io/kumo-gateway created" in applied.stdout
    assert_installed(kube_api)
    # Applying the same manifest again changes nothing.
    again = kube_api.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=manifest)
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout and "unchanged" in again.stdout


def test_namespaced_template_creates_roles_in_the_watched_namespace(kube_api: KubeApi) -> None:
    for name in (NAMESPACE, "apps"):
        create_namespace(kube_api, name)
    manifest = template_text("watchNamespace=apps", "externalRedis.url=redis://r:6379/0", namespace=NAMESPACE)
    # Every object names its namespace (Roles live in "apps"), so no -n here.
    applied = kube_api.kubectl("apply", "-f", "-", input=manifest)
    assert applied.returncode == 0, applied.stderr
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    assert names(kube_api, f"{rbac}/namespaces/apps/roles") == {"kumo-gateway", "kumo-operator"}
    assert names(kube_api, f"{rbac}/namespaces/apps/rolebindings") == {"kumo-gateway", "kumo-operator"}
    assert not {"kumo-gateway", "kumo-operator"} & names(kube_api, f"{rbac}/clusterroles")
    assert names(kube_api, f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets") == set()


def test_helm_install_then_example_then_uninstall(kube_api: KubeApi) -> None:
    installed = kube_api.helm("install", "kumo", str(CHART), "--namespace", NAMESPACE, "--create-namespace")
    assert installed.returncode == 0, installed.stderr
    assert "port-forward service/kumo-gateway 8080:8080" in installed.stdout  # NOTES.txt
    assert "curl 'http://localhost:8080/hello/dev/hello?name=kumo'" in installed.stdout
    assert_installed(kube_api)
    # helm installed the CRDs first, so the example resources are accepted.
    example = kube_api.kubectl("apply", "-n", "default", "-f", str(CHART.parents[1] / "examples" / "hello"))
    assert example.returncode == 0, example.stderr
    listed = kube_api.kubectl("get", "fn,api,tbl", "-n", "default", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(o["kind"] for o in json.loads(listed.stdout)["items"]) == ["Api", "Function"]

    # The admin token is generated at install and kept by upgrades (`lookup` finds the Secret).
    secret_path = f"/api/v1/namespaces/{NAMESPACE}/secrets/kumo-admin-token"
    token = base64.b64decode(kube_api.get(secret_path)["data"]["token"]).decode()
    assert len(token) == 48 and token.isalnum()
    assert f"kubectl -n {NAMESPACE} get secret kumo-admin-token" in installed.stdout  # NOTES.txt
    upgraded = kube_api.helm("upgrade", "kumo", str(CHART), "--namespace", NAMESPACE, "--set", "gateway.replicas=2")
    assert upgraded.returncode == 0, upgraded.stderr
    assert kube_api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/kumo-gateway")["spec"]["replicas"] == 2
    assert base64.b64decode(kube_api.get(secret_path)["data"]["token"]).decode() == token

    releases = kube_api.helm("list", "--namespace", NAMESPACE, "-o", "json")
    assert [r["name"] for r in json.loads(releases.stdout)] == ["kumo"]
    removed = kube_api.helm("uninstall", "kumo", "--namespace", NAMESPACE)
    assert removed.returncode == 0, removed.stderr
    assert names(kube_api, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments") == set()
    assert not {"kumo-gateway", "kumo-operator"} & names(kube_api, "/apis/rbac.authorization.k8s.io/v1/clusterroles")
