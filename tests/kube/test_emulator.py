"""The Kubernetes API emulator driven by the real kubectl, helm and kopf."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from cluster import TOKEN, KubeApi
from controllers import DeploymentController
from support import wait_until

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.kumo.dev}
spec:
  group: example.kumo.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10}
              port: {x-kubernetes-int-or-string: true}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
"""
WIDGETS = "/apis/example.kumo.dev/v1/namespaces/default/widgets"


def widget(name: str, size: object, port: object = 80, labels: dict[str, str] | None = None) -> str:
    return json.dumps(
        {
            "apiVersion": "example.kumo.dev/v1",
            "kind": "Widget",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"size": size, "port": port},
        }
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def with_crd(kube_api: KubeApi) -> KubeApi:
    ok(kube_api.kubectl("apply", "-f", "-", input=CRD))
    return kube_api


def test_custom_object_lifecycle_with_generation(with_crd: KubeApi) -> None:
    api = with_crd
    assert "created" in ok(api.kubectl("apply", "-f", "-", input=widget("w1", 3, "http")))
    first = api.get(f"{WIDGETS}/w1")
    assert first["metadata"]["generation"] == 1 and first["metadata"]["uid"]
    assert int(first["metadata"]["resourceVersion"]) > 0 and first["metadata"]["namespace"] == "default"
    assert "unchanged" in ok(api.kubectl("apply", "-f", "-", input=widget("w1", 3, "http")))
    assert api.get(f"{WIDGETS}/w1")["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert "configured" in ok(api.kubectl("apply", "-f", "-", input=widget("w1", 4, 8080)))
    second = api.get(f"{WIDGETS}/w1")
    assert second["metadata"]["generation"] == 2 and second["spec"] == {"size": 4, "port": 8080}
    assert ok(api.kubectl("label", "wd", "w1", "tier=gold")).strip() == "widget.example.kumo.dev/w1 labeled"
    labeled = api.get(f"{WIDGETS}/w1")["metadata"]  # a metadata-only change: no generation bump
    assert labeled["labels"] == {"tier": "gold"} and labeled["generation"] == 2
    assert int(labeled["resourceVersion"]) > int(second["metadata"]["resourceVersion"])
    assert "w1" in ok(api.kubectl("get", "wd"))


def test_invalid_custom_object_is_rejected_with_422(with_crd: KubeApi) -> None:
    result = with_crd.kubectl("apply", "-f", "-", input=widget("bad", 99))
    assert result.returncode != 0
    assert "spec.size" in result.stderr and "less than or equal to 10" in result.stderr
    response = with_crd.request(
        "POST", WIDGETS, content=widget("bad", "x", [1]), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    status = response.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid"
    assert {c["field"] for c in status["details"]["causes"]} == {"spec.size", "spec.port"}


def test_status_subresource_and_label_selectors(with_crd: KubeApi) -> None:
    api = with_crd
    for name, tier in (("a", "gold"), ("b", "silver"), ("c", "bronze")):
        ok(api.kubectl("apply", "-f", "-", input=widget(name, 1, labels={"tier": tier})))
    api.patch(f"{WIDGETS}/a/status", {"status": {"phase": "Ready"}, "spec": {"size": 9}})
    a = api.get(f"{WIDGETS}/a")
    assert a["status"] == {"phase": "Ready"} and a["spec"]["size"] == 1 and a["metadata"]["generation"] == 1
    api.patch(f"{WIDGETS}/a", {"spec": {"size": 2}, "status": {"phase": "Hacked"}})
    assert api.get(f"{WIDGETS}/a")["status"] == {"phase": "Ready"}
    names = lambda sel: sorted(o["metadata"]["name"] for o in api.list(WIDGETS, labelSelector=sel))  # noqa: E731
    assert names("tier=gold") == ["a"]
    assert names("tier!=gold") == ["b", "c"]
    assert names("tier in (gold,bronze)") == ["a", "c"]
    assert names("tier notin (gold)") == ["b", "c"]
    assert [o["metadata"]["name"] for o in api.list(WIDGETS, fieldSelector="metadata.name=b")] == ["b"]
    assert ok(api.kubectl("get", "wd", "-l", "tier in (silver)", "-o", "name")).split() == ["widget.example.kumo.dev/b"]


def test_watch_from_resource_version_sees_only_newer_events(with_crd: KubeApi) -> None:
    api = with_crd
    ok(api.kubectl("apply", "-f", "-", input=widget("old", 1)))
    rv = api.request("GET", WIDGETS).json()["metadata"]["resourceVersion"]
    ok(api.kubectl("apply", "-f", "-", input=widget("new", 2)))
    ok(api.kubectl("delete", "wd", "old"))
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1", "allowWatchBookmarks": "true"}
    lines = api.request("GET", WIDGETS, params=params).text.splitlines()
    events = [(e["type"], e["object"]["metadata"].get("name")) for e in map(json.loads, lines)]
    assert events[:2] == [("ADDED", "new"), ("DELETED", "old")] and events[2][0] == "BOOKMARK"
    gone = api.request("GET", WIDGETS, params={"watch": "true", "resourceVersion": "abc"})
    assert gone.status_code == 400


def test_finalizers_delay_deletion_and_owner_gc(kube_api: KubeApi) -> None:
    api = kube_api
    cms = "/api/v1/namespaces/default/configmaps"
    owner = api.create(cms, {"metadata": {"name": "owner", "finalizers": ["kumo.dev/hold"]}})
    api.create(
        cms,
        {
            "metadata": {
                "name": "child",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
                ],
            }
        },
    )
    ok(api.kubectl("delete", "configmap", "owner", "--wait=false"))
    marked = api.get(f"{cms}/owner")
    assert marked["metadata"]["deletionTimestamp"]
    api.patch(f"{cms}/owner", {"metadata": {"finalizers": None}})
    assert api.request("GET", f"{cms}/owner").status_code == 404
    assert api.request("GET", f"{cms}/child").status_code == 404


def test_builtin_kinds_namespaces_scale_and_protobuf(kube_api: KubeApi) -> None:
    api = kube_api
    assert {"default", "kube-system"} <= set(
        ok(api.kubectl("get", "namespaces", "-o", "name")).replace("namespace/", "").split()
    )
    ok(api.kubectl("create", "configmap", "cfg", "--from-literal=greeting=hi"))
    assert api.get("/api/v1/namespaces/default/configmaps/cfg")["data"] == {"greeting": "hi"}
    ok(api.kubectl("apply", "-f", "-", input=DEPLOYMENT))
    ok(api.kubectl("scale", "deployment", "web", "--replicas=2"))
    assert api.get("/apis/apps/v1/namespaces/default/deployments/web")["spec"]["replicas"] == 2
    scale = api.get("/apis/apps/v1/namespaces/default/deployments/web/scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=web"
    event = {
        "metadata": {"generateName": "ev-"},
        "reason": "Tested",
        "message": "hello",
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default"},
    }
    assert api.create("/api/v1/namespaces/default/events", event)["metadata"]["name"].startswith("ev-")
    assert "Tested" in ok(api.kubectl("get", "events", "-o", "json"))


def test_helm_install_and_template(kube_api: KubeApi, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "{{ .Release.Name }}-cfg"}
        data: {greeting: {{ .Values.greeting | default "hi" | quote }}}
        """)
    )
    rendered = ok(kube_api.helm("template", "tpl", str(chart)))
    ok(kube_api.kubectl("apply", "-f", "-", input=rendered))
    assert kube_api.get("/api/v1/namespaces/default/configmaps/tpl-cfg")["data"] == {"greeting": "hi"}
    ok(kube_api.helm("install", "rel", str(chart), "--set", "greeting=yo"))
    assert kube_api.get("/api/v1/namespaces/default/configmaps/rel-cfg")["data"] == {"greeting": "yo"}
    assert "rel" in ok(kube_api.helm("list", "-q"))
    ok(kube_api.helm("uninstall", "rel"))
    assert kube_api.request("GET", "/api/v1/namespaces/default/configmaps/rel-cfg").status_code == 404


def test_deployment_controller_publishes_endpoints(kube_api: KubeApi) -> None:
    calls: list[int] = []

    def endpoints_for(obj: dict) -> list[tuple[str, int]]:
        calls.append(obj["spec"]["replicas"])
        return [("127.0.0.1", 9001)] if obj["spec"]["replicas"] > 0 else []

    slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
    with DeploymentController(kube_api.url, endpoints_for):
        ok(kube_api.kubectl("apply", "-f", "-", input=DEPLOYMENT))
        ok(kube_api.kubectl("scale", "deployment", "web", "--replicas=1"))
        found = wait_for(lambda: kube_api.list(slices, labelSelector="kubernetes.io/service-name=web"))
        assert found[0]["endpoints"][0]["addresses"] == ["127.0.0.1"] and found[0]["ports"][0]["port"] == 9001
        status = kube_api.get("/apis/apps/v1/namespaces/default/deployments/web")["status"]
        assert status["readyReplicas"] == 1
        ok(kube_api.kubectl("scale", "deployment", "web", "--replicas=0"))
        wait_for(lambda: not kube_api.list(slices) and calls[-1] == 0)


def wait_for(predicate, what: str = "condition"):  # type: ignore[no-untyped-def]
    return wait_until(predicate, timeout=10, interval=0.1, what=what)


KOPF_OPERATOR = """
import kopf

@kopf.on.create("example.kumo.dev", "v1", "widgets")
def created(spec, **_):
    return {"doubled": spec["size"] * 2}
"""


def test_kopf_operator_sets_status_and_settles(with_crd: KubeApi, tmp_path: Path) -> None:
    script = tmp_path / "operator.py"
    script.write_text(KOPF_OPERATOR)
    log = (tmp_path / "kopf.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-n", "default", str(script)],
        env=with_crd.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        ok(with_crd.kubectl("apply", "-f", "-", input=widget("k1", 5)))
        obj = wait_for(lambda: (o := with_crd.get(f"{WIDGETS}/k1")).get("status", {}).get("created") and o)
        assert obj["status"]["created"] == {"doubled": 10}
        time.sleep(1.5)  # give a looping operator the chance to show itself
        settled = with_crd.get(f"{WIDGETS}/k1")["metadata"]["resourceVersion"]
        time.sleep(1.0)
        assert with_crd.get(f"{WIDGETS}/k1")["metadata"]["resourceVersion"] == settled
        assert proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_bad_requests_get_status_errors(kube_api: KubeApi) -> None:
    response = kube_api.request(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["kind"] == "Status"
    missing = kube_api.request("GET", "/apis/nope.dev/v1/things")
    assert missing.status_code == 404 and missing.json()["reason"] == "NotFound"
    assert httpx.get(f"{kube_api.url}/version", headers={"Authorization": f"Bearer {TOKEN}"}).json()["major"] == "1"
