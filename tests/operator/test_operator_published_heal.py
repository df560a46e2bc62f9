"""Published versions heal themselves (operator against the Kubernetes emulator): a deleted Deployment or
Service of ``<fn>-v<N>`` is rebuilt from the version's frozen configuration and immutable code
ConfigMap; a deleted code ConfigMap marks the version Failed in ``status.versions`` (kept, not dropped)
with a condition naming the ConfigMap."""

from __future__ import annotations

from cluster import KubeApi
from operator_support import NS, OperatorProcess, wait_for

APPS = "/apis/apps/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"
FILES = {
    "app.py": "from lib.util import ANSWER\ndef handler(e, c):\n    return ANSWER\n",
    "lib/util.py": "ANSWER = 1\n",
}


def function(release: str, files: dict[str, str]) -> dict:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "heal", "namespace": "default"},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"inline": files},
            "environment": {"RELEASE": release},
            "publish": True,
        },
    }


def env_of(deployment: dict) -> dict[str, str]:
    return {
        e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"] if "value" in e
    }


def code_volume(deployment: dict) -> dict:
    return next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "code")["configMap"]


def versions(api: KubeApi) -> list[dict]:
    return (api.get(f"{NS}/functions/heal").get("status") or {}).get("versions") or []


def condition(api: KubeApi, type_: str) -> dict | None:
    conditions = (api.get(f"{NS}/functions/heal").get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), None)


def test_deleted_children_are_rebuilt_and_lost_code_marks_the_version_failed(
    kube_api: KubeApi, operator: OperatorProcess
) -> None:
    operator.start()
    kube_api.create(f"{NS}/functions", function("1", FILES))
    wait_for(lambda: len(versions(kube_api)) == 1, what="version 1 published")
    original = wait_for(lambda: kube_api.get(f"{APPS}/deployments/heal-v1"), what="heal-v1")
    kube_api.patch(
        f"{NS}/functions/heal",
        {"spec": {"environment": {"RELEASE": "2"}, "code": {"inline": {"lib/util.py": "ANSWER = 2\n"}}}},
    )
    wait_for(lambda: len(versions(kube_api)) == 2, what="version 2 published")

    # A deleted Deployment of version 1 comes back as it was: version 1's env and code, not $LATEST's.
    assert kube_api.request("DELETE", f"{APPS}/deployments/heal-v1").status_code == 200
    rebuilt = wait_for(
        lambda: (
            (d := kube_api.get(f"{APPS}/deployments/heal-v1"))
            and d["metadata"]["uid"] != original["metadata"]["uid"]
            and d
        ),
        what="heal-v1 rebuilt",
    )
    assert rebuilt["spec"]["template"] == original["spec"]["template"]
    assert env_of(rebuilt)["KUMO_FUNCTION_VERSION"] == "1"
    assert '"RELEASE":"1"' in env_of(rebuilt)["KUMO_ENVIRONMENT"]
    assert code_volume(rebuilt)["name"] == "heal-v1"
    assert {i["path"] for i in code_volume(rebuilt)["items"]} == {"app.py", "lib/util.py"}
    assert rebuilt["spec"]["replicas"] == 0
    assert kube_api.request("DELETE", f"{CORE}/services/heal-v2").status_code == 200
    wait_for(lambda: kube_api.get(f"{CORE}/services/heal-v2"), what="heal-v2 service rebuilt")
    wait_for(
        lambda: any(e.get("reason") == "VersionRebuilt" for e in kube_api.list(f"{CORE}/events")),
        what="a VersionRebuilt event",
    )
    assert all("state" not in record for record in versions(kube_api))

    # The code ConfigMap of version 1 is gone: the version cannot be rebuilt -> Failed, kept in the list.
    assert kube_api.request("DELETE", f"{CORE}/configmaps/heal-v1").status_code == 200
    failed = wait_for(lambda: (v := versions(kube_api)) and v[0].get("state") == "Failed" and v, what="v1 Failed")
    assert [r["version"] for r in failed] == ["1", "2"]
    assert "ConfigMap heal-v1 (the version's frozen code) was deleted" in failed[0]["stateReason"]
    assert "state" not in failed[1]
    published = condition(kube_api, "PublishedVersions")
    assert published is not None and published["status"] == "False" and published["reason"] == "VersionCodeMissing"
    assert "version 1: ConfigMap heal-v1" in published["message"]
    ready = condition(kube_api, "Ready")
    assert ready is not None and ready["status"] == "True"  # $LATEST still serves
