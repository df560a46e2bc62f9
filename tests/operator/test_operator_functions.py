"""The operator against the Kubernetes emulator: Functions, versions, drift, restarts."""

from __future__ import annotations

from pathlib import Path

from cluster import REPO, KubeApi
from operator_support import NS, OperatorProcess, wait_for

HELLO = REPO / "examples" / "hello"
APPS = "/apis/apps/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"
SELECTOR = "kumo.dev/function=hello"


def ready(obj: dict) -> str | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Ready":
            return condition["status"]
    return None


def when_ready(api: KubeApi, path: str, status: str = "True") -> dict:
    """Wait until the object at ``path`` has ``Ready`` = ``status``; return it."""

    def check() -> dict | None:
        obj = api.get(path)
        return obj if ready(obj) == status else None

    return wait_for(check, what=f"{path} Ready={status}")


def test_hello_function_gets_children_and_status(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    result = kube_api.kubectl("apply", "-f", str(HELLO))
    assert result.returncode == 0, result.stderr
    fn = when_ready(kube_api, f"{NS}/functions/hello")
    version = fn["status"]["version"]
    name = f"hello-{version}"
    deployment = kube_api.get(f"{APPS}/deployments/{name}")
    assert deployment["spec"]["replicas"] == 0
    assert kube_api.get(f"{CORE}/services/{name}")["spec"]["ports"][0]["port"] == 8080
    assert "app.py" in kube_api.get(f"{CORE}/configmaps/{name}")["data"]
    assert fn["status"]["observedGeneration"] == fn["metadata"]["generation"]
    assert fn["status"]["url"] == "http://gw.test:8080/2015-03-31/functions/hello/invocations"
    api = when_ready(kube_api, f"{NS}/apis/hello")
    assert api["status"]["url"] == "http://gw.test:8080/hello/dev"


def children(api: KubeApi) -> dict[str, dict[str, str]]:
    """kind -> name -> resourceVersion of the hello function's children."""
    paths = {"Deployment": f"{APPS}/deployments", "Service": f"{CORE}/services", "ConfigMap": f"{CORE}/configmaps"}
    return {
        kind: {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in api.list(path, labelSelector=SELECTOR)}
        for kind, path in paths.items()
    }


def test_code_update_rolls_a_version_and_removes_the_old_one(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    assert kube_api.kubectl("apply", "-f", str(HELLO / "function.yaml")).returncode == 0
    old = when_ready(kube_api, f"{NS}/functions/hello")["status"]["version"]
    kube_api.patch(
        f"{NS}/functions/hello", {"spec": {"code": {"inline": {"app.py": "def handler(e, c):\n    return 2\n"}}}}
    )

    def rolled() -> dict | None:
        fn = kube_api.get(f"{NS}/functions/hello")
        new = fn["status"].get("version")
        names = children(kube_api)
        want = {f"hello-{new}"}
        if new != old and all(set(found) == want for found in names.values()):
            return fn
        return None

    fn = wait_for(rolled, what="new version with only its children")
    assert fn["status"]["observedGeneration"] == fn["metadata"]["generation"]
    # scaling changes keep the version
    kube_api.patch(f"{NS}/functions/hello", {"spec": {"scaling": {"maxInstances": 3}}})
    wait_for(
        lambda: (
            kube_api.get(f"{NS}/functions/hello")["status"]["observedGeneration"] == fn["metadata"]["generation"] + 1
        ),
        what="scaling change observed",
    )
    assert kube_api.get(f"{NS}/functions/hello")["status"]["version"] == fn["status"]["version"]


def test_delete_removes_children(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    assert kube_api.kubectl("apply", "-f", str(HELLO / "function.yaml")).returncode == 0
    version = when_ready(kube_api, f"{NS}/functions/hello")["status"]["version"]
    names = {kind: set(found) for kind, found in children(kube_api).items()}
    assert names == {key: {f"hello-{version}"} for key in ("Deployment", "Service", "ConfigMap")}
    assert kube_api.request("DELETE", f"{NS}/functions/hello").status_code == 200
    wait_for(lambda: not any(children(kube_api).values()), what="children garbage-collected")


def test_restart_changes_nothing_and_drift_is_reverted(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    assert kube_api.kubectl("apply", "-f", str(HELLO / "function.yaml")).returncode == 0
    version = when_ready(kube_api, f"{NS}/functions/hello")["status"]["version"]
    kube_api.patch(f"{APPS}/deployments/hello-{version}/scale", {"spec": {"replicas": 2}})
    before = children(kube_api)
    operator.stop()
    operator.start()
    wait_for(lambda: "Handler 'function_changed' succeeded" in operator.current_log(), what="resume handler")
    wait_for(lambda: "Timer 'autoscale' succeeded" in operator.current_log(), what="a timer round")
    assert children(kube_api) == before
    assert kube_api.get(f"{APPS}/deployments/hello-{version}")["spec"]["replicas"] == 2

    name = f"hello-{version}"
    deployment = kube_api.get(f"{APPS}/deployments/{name}")
    containers = deployment["spec"]["template"]["spec"]["containers"]
    containers[0]["image"] = "evil:latest"
    kube_api.patch(f"{APPS}/deployments/{name}", {"spec": {"template": {"spec": {"containers": containers}}}})
    wait_for(
        lambda: (
            kube_api.get(f"{APPS}/deployments/{name}")["spec"]["template"]["spec"]["containers"][0]["image"]
            == "kumo-runtime-python:3.12"
        ),
        what="image reverted",
    )
    assert kube_api.get(f"{APPS}/deployments/{name}")["spec"]["replicas"] == 2
    kube_api.request("DELETE", f"{CORE}/services/{name}")
    wait_for(lambda: kube_api.get(f"{CORE}/services/{name}"), what="service recreated")


def test_invalid_spec_is_reported(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    # maxInstances < minInstances passes the schema (the rule is CEL, not evaluated here) but not the model
    body = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "bad"},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"inline": {"app.py": "x = 1\n"}},
            "scaling": {"minInstances": 5, "maxInstances": 2},
        },
    }
    kube_api.create(f"{NS}/functions", body)
    fn = when_ready(kube_api, f"{NS}/functions/bad", "False")
    condition = fn["status"]["conditions"][0]
    assert condition["reason"] == "InvalidSpec"
    assert "spec.scaling.maxInstances" in condition["message"]
    events = wait_for(
        lambda: [e for e in kube_api.list(f"{CORE}/events") if e.get("reason") == "InvalidSpec"], what="event"
    )
    assert events[0]["type"] == "Warning"
    assert not kube_api.list(f"{APPS}/deployments", labelSelector="kumo.dev/function=bad")


def test_api_waits_for_its_function(kube_api: KubeApi, operator: OperatorProcess) -> None:
    operator.start()
    assert kube_api.kubectl("apply", "-f", str(HELLO / "api.yaml")).returncode == 0
    api = when_ready(kube_api, f"{NS}/apis/hello", "False")
    condition = api["status"]["conditions"][0]
    assert condition["reason"] == "FunctionNotFound"
    assert "GET /hello -> hello" in condition["message"]
    assert kube_api.kubectl("apply", "-f", str(HELLO / "function.yaml")).returncode == 0
    api = when_ready(kube_api, f"{NS}/apis/hello", "True")
    assert api["status"]["stages"] == [{"name": "dev", "url": "http://gw.test:8080/hello/dev"}]
    assert kube_api.request("DELETE", f"{NS}/functions/hello").status_code == 200
    when_ready(kube_api, f"{NS}/apis/hello", "False")


def test_table_children(kube_api: KubeApi, operator: OperatorProcess, tmp_path: Path) -> None:
    operator.start()
    manifest = tmp_path / "table.yaml"
    manifest.write_text(
        "apiVersion: kumo.dev/v1alpha1\nkind: Table\nmetadata:\n  name: orders\nspec:\n"
        "  partitionKey: {name: pk, type: S}\n  sortKey: {name: sk, type: B}\n  partitions: 3\n"
    )
    assert kube_api.kubectl("apply", "-f", str(manifest)).returncode == 0
    sts = wait_for(lambda: kube_api.get(f"{APPS}/statefulsets/table-orders"), what="StatefulSet")
    assert sts["spec"]["replicas"] == 3
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    service = kube_api.get(f"{CORE}/services/table-orders")
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    pdb = wait_for(lambda: kube_api.get("/apis/policy/v1/namespaces/default/poddisruptionbudgets/table-orders"))
    assert pdb["spec"]["maxUnavailable"] == 1
    table = when_ready(kube_api, f"{NS}/tables/orders", "False")
    assert table["status"]["conditions"][0]["reason"] == "PartitionsStarting"
