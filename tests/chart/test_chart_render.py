"""charts/kumo rendered by the real helm: lint, Kubernetes schemas, RBAC, security, Redis wiring."""

from __future__ import annotations

import base64
import json

import kubernetes_validate
import pytest
import yaml
from chart_render import (
    CHART,
    containers,
    expand,
    find,
    one,
    permissions,
    render,
    run_helm,
    template_text,
)

pytestmark = pytest.mark.usefixtures("kube_tools")

#: Value sets the chart must render for (each a tuple of --set assignments).
VALUE_SETS = {
    "defaults": (),
    "external-redis": ("externalRedis.url=redis://redis.example:6379/0",),
    "namespaced": ("watchNamespace=apps",),
    "redis-secret": ("externalRedis.existingSecret=kumo-redis-url",),
    "nodeport-persistent": (
        "gateway.service.type=NodePort",
        "gateway.service.nodePort=30080",
        "gateway.replicas=3",
        "redis.persistence.enabled=true",
        "redis.persistence.storageClass=standard",
    ),
    "scheduling": (
        "gateway.nodeSelector.kubernetes\\.io/os=linux",
        "operator.tolerations[0].key=dedicated",
        "operator.tolerations[0].operator=Exists",
        "imagePullSecrets[0].name=regcred",
        "image.tag=dev",
    ),
}
#: Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBE_VERSIONS = ("1.29", "1.35")

GATEWAY_ALLOWED = (
    expand("kumo.dev", ["apis", "tables"], ["get", "list", "watch"])
    | expand("kumo.dev", ["functions"], ["get", "list", "watch", "create", "update", "delete"])  # Lambda API
    | expand("apps", ["deployments"], ["get", "list", "watch"])
    | expand("apps", ["deployments/scale"], ["get", "patch", "update"])
    | expand("discovery.k8s.io", ["endpointslices"], ["get", "list", "watch"])
    | expand("", ["events"], ["create"])
    | expand("", ["secrets"], ["get", "list", "watch"])  # access keys, API keys, JWT secretRefs
    | expand("", ["configmaps"], ["list", "create"])  # layer versions: created once, never changed
)
CRUD = ["get", "list", "watch", "create", "update", "patch", "delete"]
OPERATOR_NAMESPACED = (
    expand("kumo.dev", ["functions", "apis", "tables"], ["get", "list", "watch", "patch", "update"])
    | expand("kumo.dev", ["functions/status", "apis/status", "tables/status"], ["get", "patch", "update"])
    | expand("", ["configmaps", "services"], CRUD)
    | expand("", ["secrets"], ["get", "create", "patch"])  # each Function's <fn>-credentials, written once
    | expand("apps", ["deployments", "statefulsets"], CRUD)
    | expand("apps", ["deployments/scale"], ["get", "patch", "update"])
    | expand("policy", ["poddisruptionbudgets"], CRUD)
    | expand("", ["events"], ["create"])
)
OPERATOR_CLUSTER_ONLY = expand("", ["namespaces"], ["list", "watch"]) | expand(
    "apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"]
)


def test_helm_lint_strict_passes_for_every_value_set() -> None:
    for name, values in VALUE_SETS.items():
        args = ["lint", "--strict", str(CHART), "--namespace", "kumo"]
        for assignment in values:
            args += ["--set", assignment]
        result = run_helm(*args)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"
        assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("name", list(VALUE_SETS))
def test_every_rendered_object_is_valid_for_kubernetes(name: str) -> None:
    objects = render(*VALUE_SETS[name])
    assert len(objects) >= 9
    for obj in objects:
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} invalid for {version}: {exc.message}")


def test_crds_are_valid_custom_resource_definitions() -> None:
    for path in sorted((CHART / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(crd, KUBE_VERSIONS[0], strict=True)
        assert crd["spec"]["group"] == "kumo.dev"


def test_bad_values_are_refused_by_the_schema() -> None:
    result = run_helm("template", "kumo", str(CHART), "--set", "gateway.service.type=Bogus")
    assert result.returncode != 0
    assert "gateway/service/type" in result.stderr
    result = run_helm("template", "kumo", str(CHART), "--set", "externalRedis.url=http://nope")
    assert result.returncode != 0
    assert "externalRedis/url" in result.stderr


def test_default_install_has_operator_gateway_redis_and_cluster_rbac() -> None:
    objects = render()
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
    assert kinds == [
        "ClusterRole/kumo-gateway",
        "ClusterRole/kumo-operator",
        "ClusterRoleBinding/kumo-gateway",
        "ClusterRoleBinding/kumo-operator",
        "Deployment/kumo-codestore",
        "Deployment/kumo-gateway",
        "Deployment/kumo-operator",
        "Deployment/kumo-worker",
        "NetworkPolicy/kumo-codestore",
        "NetworkPolicy/kumo-function-pods",
        "NetworkPolicy/kumo-table-pods",
        "PersistentVolumeClaim/kumo-codestore",
        "Secret/kumo-admin-token",
        "Secret/kumo-platform-credential",
        "Service/kumo-codestore",
        "Service/kumo-gateway",
        "Service/kumo-redis",
        "ServiceAccount/kumo-gateway",
        "ServiceAccount/kumo-operator",
        "StatefulSet/kumo-redis",
    ]
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels["helm.sh/chart"] == "kumo-0.1.0"
        assert labels["app.kubernetes.io/name"] == "kumo"
        assert labels["app.kubernetes.io/instance"] == "kumo"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/component"] in {"gateway", "operator", "redis", "worker", "codestore"}


def test_gateway_deployment_and_service() -> None:
    objects = render()
    deployment = one(objects, "Deployment", "kumo-gateway")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "kumo:0.1.0"
    assert container["args"][:2] == ["gateway", "--kubernetes"]
    assert not [a for a in container["args"] if a.startswith("--namespace")]  # every namespace
    assert "--redis-url=$(KUMO_REDIS_URL)" in container["args"]
    assert "--port=8080" in container["args"] and "--host=0.0.0.0" in container["args"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert pod["serviceAccountName"] == "kumo-gateway"
    service = one(objects, "Service", "kumo-gateway")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert "nodePort" not in service["spec"]["ports"][0]

    nodeport = render(*VALUE_SETS["nodeport-persistent"])
    assert one(nodeport, "Deployment", "kumo-gateway")["spec"]["replicas"] == 3
    port = one(nodeport, "Service", "kumo-gateway")["spec"]
    assert port["type"] == "NodePort" and port["ports"][0]["nodePort"] == 30080


def test_operator_args_and_settings_follow_the_values() -> None:
    (container,) = containers(one(render(), "Deployment", "kumo-operator"))
    assert container["args"] == [
        "operator",
        "--redis-url=$(KUMO_REDIS_URL)",
        "--liveness=http://0.0.0.0:8081/healthz",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["ports"] == [{"name": "health", "containerPort": 8081, "protocol": "TCP"}]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["KUMO_REDIS_URL"] == "redis://kumo-redis.kumo.svc:6379/0"
    assert env["KUMO_GATEWAY_INTERNAL_URL"] == "http://kumo-gateway.kumo.svc:8080"
    assert env["KUMO_GATEWAY_PUBLIC_URL"] == "http://localhost:8080"
    assert env["KUMO_IMAGE"] == "kumo:0.1.0"
    assert env["KUMO_REGION"] == "us-east-1"
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert json.loads(env["KUMO_RUNTIME_IMAGES"]) == {
        f"python{v}": f"kumo-runtime-python:0.1.0-python{v}" for v in ("3.11", "3.12", "3.13")
    }
    assert "KUMO_TABLE_STORAGE_CLASS" not in env

    custom = render(
        "runtimeImages.images.python3\\.12.tag=v9",
        "watchNamespace=apps",
        "operator.tableStorage.storageClass=fast",
        "image.repository=registry.example/kumo",
    )
    (container,) = containers(one(custom, "Deployment", "kumo-operator"))
    assert "--namespace=apps" in container["args"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert json.loads(env["KUMO_RUNTIME_IMAGES"])["python3.12"] == "kumo-runtime-python:v9"
    assert env["KUMO_TABLE_STORAGE_CLASS"] == "fast"
    assert env["KUMO_IMAGE"] == container["image"] == "registry.example/kumo:0.1.0"


def test_gateway_rbac_is_exactly_the_allowed_set() -> None:
    objects = render()
    role = one(objects, "ClusterRole", "kumo-gateway")
    granted = permissions(role["rules"])
    assert granted == GATEWAY_ALLOWED
    assert all("*" not in part for perm in granted for part in perm)
    assert not {r for _, r, _ in granted} & {"pods/exec", "pods"}
    # layer versions are ConfigMaps it creates; it can change or delete none (function code lives in some)
    assert {verb for _, r, verb in granted if r == "configmaps"} == {"list", "create"}
    # access keys, API keys (labelled Secrets) and JWT secretRefs, read only
    assert {verb for _, r, verb in granted if r == "secrets"} == {"get", "list", "watch"}
    binding = one(objects, "ClusterRoleBinding", "kumo-gateway")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "kumo-gateway",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kumo-gateway", "namespace": "kumo"}]


def test_operator_rbac_is_least_privilege() -> None:
    cluster = permissions(one(render(), "ClusterRole", "kumo-operator")["rules"])
    assert cluster == OPERATOR_NAMESPACED | OPERATOR_CLUSTER_ONLY
    assert all("*" not in part for perm in cluster for part in perm)
    assert not {r for _, r, _ in cluster} & {"pods/exec", "clusterroles", "roles", "rolebindings"}
    # Functions' credential Secrets: never listed, watched or deleted by the operator (GC deletes them)
    assert {verb for _, r, verb in cluster if r == "secrets"} == {"get", "create", "patch"}


def test_namespaced_install_uses_roles_in_the_watched_namespace() -> None:
    objects = render(*VALUE_SETS["namespaced"])
    assert not find(objects, "ClusterRole") and not find(objects, "ClusterRoleBinding")
    for component, expected in (("gateway", GATEWAY_ALLOWED), ("operator", OPERATOR_NAMESPACED)):
        role = one(objects, "Role", f"kumo-{component}")
        assert role["metadata"]["namespace"] == "apps"
        assert permissions(role["rules"]) == expected
        binding = one(objects, "RoleBinding", f"kumo-{component}")
        assert binding["metadata"]["namespace"] == "apps"
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"kumo-{component}", "namespace": "kumo"}]
    (gateway,) = containers(one(objects, "Deployment", "kumo-gateway"))
    assert "--namespace=apps" in gateway["args"]


@pytest.mark.parametrize("name", ["defaults", "nodeport-persistent"])
def test_every_pod_runs_non_root_read_only_without_capabilities(name: str) -> None:
    objects = render(*VALUE_SETS[name])
    workloads = find(objects, "Deployment") + find(objects, "StatefulSet")
    assert len(workloads) == 5  # operator, gateway, async worker, Redis, code store
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in containers(workload):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert "privileged" not in sc
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            # A read-only root needs somewhere writable: every container mounts a volume.
            assert container["volumeMounts"]


def test_bundled_redis_is_pinned_and_wired() -> None:
    objects = render()
    statefulset = one(objects, "StatefulSet", "kumo-redis")
    (redis,) = containers(statefulset)
    repository, tag = redis["image"].split(":")
    assert repository == "redis" and tag.startswith("7.") and tag.endswith("-alpine")
    assert statefulset["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert statefulset["spec"]["serviceName"] == "kumo-redis"
    assert "volumeClaimTemplates" not in statefulset["spec"]
    service = one(objects, "Service", "kumo-redis")
    assert service["spec"]["ports"][0]["port"] == 6379
    assert service["spec"]["selector"] == statefulset["spec"]["selector"]["matchLabels"]

    persistent = one(render(*VALUE_SETS["nodeport-persistent"]), "StatefulSet", "kumo-redis")
    (claim,) = persistent["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "standard"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "--appendonly" in containers(persistent)[0]["args"]


@pytest.mark.parametrize("name", ["external-redis", "redis-secret"])
def test_external_redis_skips_the_bundled_one(name: str) -> None:
    objects = render(*VALUE_SETS[name])
    assert not find(objects, "StatefulSet")
    assert not [o for o in objects if o["metadata"]["labels"]["app.kubernetes.io/component"] == "redis"]
    deployments = find(objects, "Deployment")
    names = sorted(d["metadata"]["name"] for d in deployments)
    assert names == ["kumo-codestore", "kumo-gateway", "kumo-operator", "kumo-worker"]
    for deployment in deployments:
        (container,) = containers(deployment)
        env = {e["name"]: e for e in container["env"]}
        if name == "external-redis":
            assert env["KUMO_REDIS_URL"]["value"] == "redis://redis.example:6379/0"
        else:
            assert env["KUMO_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "kumo-redis-url", "key": "url"}


def test_release_name_and_namespace_flow_into_names_and_urls() -> None:
    objects = render(release="edge", namespace="platform")
    assert one(objects, "Deployment", "edge-kumo-gateway")["metadata"]["namespace"] == "platform"
    (operator,) = containers(one(objects, "Deployment", "edge-kumo-operator"))
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["KUMO_GATEWAY_INTERNAL_URL"] == "http://edge-kumo-gateway.platform.svc:8080"
    assert "redis://edge-kumo-redis.platform.svc:6379/0" in template_text(release="edge", namespace="platform")


def test_admin_token_secret_and_gateway_env() -> None:
    objects = render()
    secret = one(objects, "Secret", "kumo-admin-token")
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert len(token) == 48 and token.isalnum()
    (container,) = containers(one(objects, "Deployment", "kumo-gateway"))
    env = {e["name"]: e for e in container["env"]}
    assert env["KUMO_ADMIN_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "kumo-admin-token", "key": "token"}}
    # helm template cannot `lookup` the installed Secret: every render makes a new token (install keeps it)
    again = base64.b64decode(one(render("image.tag=other"), "Secret", "kumo-admin-token")["data"]["token"]).decode()
    assert again != token
    # the operator never sees it
    (operator,) = containers(one(objects, "Deployment", "kumo-operator"))
    assert "KUMO_ADMIN_TOKEN" not in {e["name"] for e in operator["env"]}


def test_platform_credential_secret_reaches_gateway_and_operator() -> None:
    objects = render()
    secret = one(objects, "Secret", "kumo-platform-credential")
    credential = base64.b64decode(secret["data"]["credential"]).decode()
    assert len(credential) == 48 and credential.isalnum()
    ref = {"secretKeyRef": {"name": "kumo-platform-credential", "key": "credential"}}
    for deployment in ("kumo-gateway", "kumo-operator"):
        (container,) = containers(one(objects, "Deployment", deployment))
        env = {e["name"]: e for e in container["env"]}
        assert env["KUMO_PLATFORM_CREDENTIAL"]["valueFrom"] == ref, deployment
    # a new random value per render (an installed release keeps its own through `lookup`)
    again = one(render("image.tag=other"), "Secret", "kumo-platform-credential")["data"]["credential"]
    assert base64.b64decode(again).decode() != credential
