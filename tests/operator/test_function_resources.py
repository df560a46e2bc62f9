"""Pure builders of a Function version's children (no API server)."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.kube.names import version_child_name
from kumo.models import Function
from kumo.runtime.config import config_from_env
from kumo_operator.config import OperatorConfig
from kumo_operator.config import config_from_env as operator_config
from kumo_operator.function_resources import (
    build_function_version,
    code_items,
    config_map_key,
    cpu_millicores,
    kubelet_expand,
)
from kumo_operator.versions import function_version

CONFIG = OperatorConfig(gateway_internal_url="http://gw.kumo-system.svc:8080")


def function(**spec: Any) -> tuple[dict[str, Any], Function]:
    body = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "hello", "namespace": "team", "uid": "uid-1", "generation": 7},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"inline": {"app.py": "def handler(e, c):\n    return 1\n", "lib/util/x.py": "X = 1\n"}},
            "memory": "512Mi",
            "timeout": "30s",
            "environment": {"GREETING": "$(HOME) costs $5", "MODE": "prod"},
        }
        | spec,
    }
    return body, Function.model_validate(body)


def container(built: Any) -> dict[str, Any]:
    return built.deployment["spec"]["template"]["spec"]["containers"][0]


def test_nested_files_use_encoded_keys_and_items() -> None:
    body, fn = function()
    built = build_function_version(body, fn.spec, CONFIG)
    data = built.config_map["data"]
    assert "app.py" in data
    assert all("/" not in key for key in data)
    volume = next(v for v in built.deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "code")
    paths = {item["path"]: data[item["key"]] for item in volume["configMap"]["items"]}
    assert paths == fn.spec.code.inline
    assert config_map_key("a/b c.py") != config_map_key("a_b_c.py")
    assert code_items({"x/y.py": ""}) == [{"key": config_map_key("x/y.py"), "path": "x/y.py"}]


def test_deployment_shape() -> None:
    body, fn = function()
    built = build_function_version(body, fn.spec, CONFIG)
    dep = built.deployment
    pod = dep["spec"]["template"]["spec"]
    c = container(built)
    assert dep["spec"]["replicas"] == 0
    assert c["image"] == "kumo-runtime-python:3.12"
    assert c["command"] == ["kumo", "runtime"]
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert c["resources"] == {"requests": {"cpu": "290m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}}
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 1000
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "512Mi"}} in pod["volumes"]
    assert {"name": "code", "mountPath": "/var/task", "readOnly": True} in c["volumeMounts"]
    probe = c["readinessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "http"} and probe["periodSeconds"] == 1
    labels = {"kumo.dev/function": "hello", "kumo.dev/version": built.version, "app.kubernetes.io/managed-by": "kumo"}
    assert dep["metadata"]["labels"] == labels
    assert dep["spec"]["template"]["metadata"]["labels"] == labels
    assert dep["metadata"]["annotations"] == {"kumo.dev/generation": "7"}
    assert built.name == f"hello-{built.version}"
    svc = built.service["spec"]
    assert svc["type"] == "ClusterIP" and svc["ports"][0]["port"] == 8080
    assert svc["selector"] == {"kumo.dev/function": "hello", "kumo.dev/version": built.version}


def test_owner_references_on_all_children() -> None:
    body, fn = function()
    children = build_function_version(body, fn.spec, CONFIG).children
    assert sorted(child["kind"] for child in children) == ["ConfigMap", "Deployment", "Service"]
    for child in children:
        assert child["metadata"]["namespace"] == "team"
        assert child["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "kumo.dev/v1alpha1",
                "kind": "Function",
                "name": "hello",
                "uid": "uid-1",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_env_round_trips_through_config_from_env() -> None:
    body, fn = function()
    built = build_function_version(body, fn.spec, CONFIG)
    env = {e["name"]: kubelet_expand(e["value"]) for e in container(built)["env"] if "value" in e}
    config = config_from_env(env)
    assert config.name == "hello"
    assert config.handler == "app.handler"
    assert config.runtime == "python3.12"
    assert str(config.code_dir) == "/var/task"
    assert config.memory_mb == 512
    assert config.timeout_s == 30.0
    assert dict(config.environment) == {"GREETING": "$(HOME) costs $5", "MODE": "prod"}
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_DYNAMODB"):
        assert config.platform_environment[variable] == "http://gw.kumo-system.svc:8080"
    assert config.version == "$LATEST"
    assert env["KUMO_REVISION"] == built.version


@pytest.mark.parametrize(("memory", "millicores"), [(128, 73), (1769, 1000), (1770, 1001), (10240, 5789)])
def test_cpu_is_proportional_to_memory(memory: int, millicores: int) -> None:
    assert cpu_millicores(memory) == millicores


def test_versions_change_with_code_and_config_not_scaling() -> None:
    _, base = function()
    version = function_version(base.spec)
    assert function_version(function(memory="1Gi")[1].spec) != version
    assert function_version(function(environment={"A": "b"})[1].spec) != version
    assert function_version(function(code={"inline": {"app.py": "y = 2\n"}})[1].spec) != version
    assert function_version(function(scaling={"maxInstances": 3, "minInstances": 1})[1].spec) == version
    assert function_version(function(concurrency={"reserved": 4})[1].spec) == version


def test_min_instances_sets_initial_replicas_and_image_code() -> None:
    body, fn = function(scaling={"minInstances": 2}, code={"image": "registry/app:1"})
    built = build_function_version(body, fn.spec, CONFIG)
    assert built.deployment["spec"]["replicas"] == 2
    assert built.config_map is None
    assert container(built)["image"] == "registry/app:1"
    assert all(m["mountPath"] != "/var/task" for m in container(built)["volumeMounts"])


def test_config_map_code_is_copied_and_versioned_by_content() -> None:
    body, fn = function(code={"configMap": {"name": "src"}})
    one = build_function_version(body, fn.spec, CONFIG, code_files={"app.py": "a = 1\n"})
    two = build_function_version(body, fn.spec, CONFIG, code_files={"app.py": "a = 2\n"})
    assert one.version != two.version
    assert one.config_map["data"] == {"app.py": "a = 1\n"}


def test_runtime_image_overrides() -> None:
    config = operator_config(
        {"KUMO_RUNTIME_IMAGE_PYTHON3_12": "mine:3.12", "KUMO_RUNTIME_IMAGES": '{"python3.11": "x"}'}
    )
    assert config.runtime_image("python3.12") == "mine:3.12"
    assert config.runtime_image("python3.11") == "x"
    assert config.runtime_image("python3.13") == "kumo-runtime-python:3.13"


def test_long_names_stay_within_63_characters() -> None:
    name = version_child_name("f" * 63, "0123456789")
    assert len(name) <= 63 and name.endswith("-0123456789")
    assert version_child_name("f" * 63, "0123456789") != version_child_name("f" * 62 + "g", "0123456789")
    assert version_child_name("9lives", "abc")[0].isalpha()
