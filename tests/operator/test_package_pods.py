"""Pure builders of a package Function's pod: the fetch init container, emptyDirs, provided and /opt."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kumo.models import Function
from kumo.runtime.config import config_from_env
from kumo_operator.config import OperatorConfig
from kumo_operator.config import config_from_env as operator_config
from kumo_operator.function_resources import build_function_version
from kumo_operator.package_pods import CodeStoreMissing, fetch_command
from kumo_operator.versions import function_version

STORE = "http://kumo-codestore.kumo-system.svc:8090"
CONFIG = OperatorConfig(code_store_url=STORE, platform_credential="cred", kumo_image="kumo:9")
SHA = "ab" * 32
LAYER = "cd" * 32


def function(runtime: str = "python3.12", layers: list[dict[str, Any]] | None = None) -> tuple[dict, Function]:
    package: dict[str, Any] = {"sha256": SHA, "size": 1234}
    if layers is not None:
        package["layers"] = layers
    body = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "orders", "namespace": "team", "uid": "u1", "generation": 1},
        "spec": {"runtime": runtime, "handler": "app.handler", "code": {"package": package}},
    }
    return body, Function.model_validate(body)


def pod(body: dict, fn: Function, config: OperatorConfig = CONFIG) -> dict[str, Any]:
    return build_function_version(body, fn.spec, config).deployment["spec"]["template"]["spec"]


def test_a_package_is_fetched_by_an_init_container_into_an_empty_dir() -> None:
    spec = pod(*function())
    (init,) = spec["initContainers"]
    main = spec["containers"][0]
    assert init["name"] == "fetch-package" and init["image"] == main["image"]
    assert init["command"] == [
        "kumo", "package", "fetch", "--store-url", STORE, "--package", f"{SHA}:1234", "--code-dir", "/var/task",
    ]  # fmt: skip
    assert init["env"][0]["name"] == "KUMO_PLATFORM_CREDENTIAL" and "valueFrom" in init["env"][0]
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    code = next(v for v in spec["volumes"] if v["name"] == "code")
    assert "emptyDir" in code and "configMap" not in code
    assert {"name": "code", "mountPath": "/var/task", "readOnly": False} in init["volumeMounts"]
    assert {"name": "code", "mountPath": "/var/task", "readOnly": True} in main["volumeMounts"]
    assert build_function_version(*function()[:1], function()[1].spec, CONFIG).config_map is None
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert "KUMO_COMMAND" not in env and "KUMO_PLATFORM_ENVIRONMENT" not in env


def test_layers_go_to_opt_in_order_and_are_the_runtimes_opt() -> None:
    layers = [{"sha256": LAYER, "size": 10}, {"sha256": "ef" * 32, "size": 20}]
    spec = pod(*function(layers=layers))
    init, main = spec["initContainers"][0], spec["containers"][0]
    command = init["command"]
    assert command[command.index("--layer") + 1] == f"{LAYER}:10"
    assert command[-4:] == ["--layer", f"{'ef' * 32}:20", "--opt-dir", "/opt"]
    assert {"name": "opt", "mountPath": "/opt", "readOnly": True} in main["volumeMounts"]
    env = {e["name"]: e.get("value") for e in main["env"]}
    runtime = config_from_env(env)
    assert runtime.platform_environment["KUMO_OPT_DIR"] == "/opt"
    assert runtime.platform_environment["PATH"].startswith("/opt/bin:")


def test_provided_runtimes_start_bootstrap_on_the_kumo_image() -> None:
    main = pod(*function("provided.al2023"))["containers"][0]
    assert main["image"] == "kumo:9"
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert config_from_env(env).command == ["/var/task/bootstrap"]


def test_a_new_package_is_a_new_version_and_a_store_is_required() -> None:
    body, fn = function()
    other = Function.model_validate(body | {"spec": body["spec"] | {"code": {"package": {"sha256": LAYER, "size": 1}}}})
    assert function_version(fn.spec) != function_version(other.spec)
    with pytest.raises(CodeStoreMissing, match=r"codeStore\.enabled"):
        pod(body, fn, OperatorConfig())
    assert fetch_command(fn.spec, STORE, "/x")[-1] == "/x"
    assert operator_config({"KUMO_CODE_STORE_URL": STORE + "/"}).code_store_url == STORE
    assert json.loads(json.dumps(pod(body, fn)))  # plain JSON for the API server


def test_bad_package_references_are_refused_by_the_model() -> None:
    body, _ = function()
    for package, needle in (
        ({"sha256": "AB" * 32, "size": 1}, "sha256"),
        ({"sha256": SHA, "size": 0}, "size"),
        ({"sha256": SHA, "size": 51 * 1024 * 1024}, "size"),
        ({"sha256": SHA, "size": 1, "layers": [{"sha256": SHA, "size": 1}] * 6}, "layers"),
    ):
        with pytest.raises(ValueError, match=needle):
            Function.model_validate(body | {"spec": body["spec"] | {"code": {"package": package}}})


def test_the_node_cache_is_mounted_into_the_fetch_step_only_when_enabled() -> None:
    body, fn = function(layers=[{"sha256": LAYER, "size": 10}])
    plain = pod(body, fn)
    assert not any("hostPath" in v for v in plain["volumes"])
    assert "--cache-dir" not in plain["initContainers"][0]["command"]

    cached = pod(
        body, fn, operator_config({"KUMO_CODE_STORE_URL": STORE, "KUMO_NODE_CACHE_DIR": "/var/lib/kumo-cache"})
    )
    (volume,) = [v for v in cached["volumes"] if "hostPath" in v]
    assert volume == {
        "name": "package-cache",
        "hostPath": {"path": "/var/lib/kumo-cache", "type": "DirectoryOrCreate"},
    }
    init, main = cached["initContainers"][0], cached["containers"][0]
    assert {"name": "package-cache", "mountPath": "/var/cache/kumo-packages"} in init["volumeMounts"]
    assert init["command"][-4:] == ["--cache-dir", "/var/cache/kumo-packages", "--cache-max-bytes", str(2 * 1024**3)]
    assert "--layer" in init["command"]  # the layers are still fetched (through the cache)
    assert all(m["name"] != "package-cache" for m in main["volumeMounts"])  # user code never sees the cache
    assert init["securityContext"]["runAsNonRoot"] is True
