"""Function resources read and written as the Lambda management API sees them (pure rules)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kumo.manifests import parse_manifest
from kumo.packages.code_store import PackageRef
from kumo_gateway.kubernetes import function_objects as fo
from kumo_gateway.lambda_.function_requests import FunctionSettings
from kumo_gateway.lambda_.layer_versions import LayerVersion

SHA1, SHA2 = "a" * 64, "b" * 64
SETTINGS = FunctionSettings("python3.12", "app.handler", "arn:aws:iam::1:role/r", "desc", 256, 10, {"A": "1"})


def with_status(
    obj: dict[str, Any], generation: int, observed: int | None, ready: str | None, reason: str = ""
) -> dict:
    obj = json.loads(json.dumps(obj))
    obj["metadata"] |= {"generation": generation, "uid": "u-1", "resourceVersion": "7"}
    status: dict[str, Any] = {}
    if observed is not None:
        status["observedGeneration"] = observed
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready, "reason": reason, "message": f"{reason} msg"}]
    obj["status"] = status
    return obj


def created() -> dict[str, Any]:
    return fo.new_function(
        "orders", "default", SETTINGS, PackageRef(SHA1, 10), {"team": "x"}, "2024-01-01T00:00:00.000+0000"
    )


def test_new_function_is_a_valid_function_with_code_package_and_annotations() -> None:
    body = created()
    model = parse_manifest(body)
    assert model.spec.code.package.sha256 == SHA1 and model.spec.memory == 256 and model.spec.timeout == 10
    assert body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kumo-lambda-api"}
    assert fo.tags_of(body) == {"team": "x"}
    assert fo.extra_settings(body) == {"role": "arn:aws:iam::1:role/r", "description": "desc", "architecture": "x86_64"}
    assert fo.settings_of(body, model) == SETTINGS
    assert fo.last_modified(body) == "2024-01-01T00:00:00.000+0000"


@pytest.mark.parametrize(
    ("generation", "observed", "ready", "reason", "state", "last_update"),
    [
        (1, None, None, "", "Pending", "InProgress"),
        (1, 1, "True", "Deployed", "Active", "Successful"),
        (2, 1, "True", "Deployed", "Active", "InProgress"),
        (1, 1, "False", "PackageNotFound", "Failed", "Failed"),
        (2, 1, "False", "PackageNotFound", "Pending", "InProgress"),
    ],
)
def test_state_follows_the_ready_condition_and_the_observed_generation(
    generation: int, observed: int | None, ready: str | None, reason: str, state: str, last_update: str
) -> None:
    result = fo.lambda_state(with_status(created(), generation, observed, ready, reason))
    assert (result.state, result.last_update) == (state, last_update)
    if state == "Failed":
        assert result.reason_code == "PackageNotFound" and result.reason == "PackageNotFound msg"


def test_revision_id_changes_with_the_spec_generation_not_the_status() -> None:
    first = with_status(created(), 1, 1, "True")
    assert fo.revision_id(first) == fo.revision_id(with_status(created(), 1, None, None))
    assert fo.revision_id(first) != fo.revision_id(with_status(created(), 2, 1, "True"))


def test_changes_keep_what_the_api_does_not_manage() -> None:
    obj = with_status(created(), 1, 1, "True")
    obj["spec"]["scaling"] = {"maxInstances": 3}
    obj["spec"]["code"]["package"]["layers"] = [{"sha256": SHA2, "size": 5}]
    moved = fo.with_package(obj, PackageRef(SHA2, 20), "later")
    assert moved["spec"]["code"]["package"] == {"sha256": SHA2, "size": 20, "layers": [{"sha256": SHA2, "size": 5}]}
    assert moved["spec"]["scaling"] == {"maxInstances": 3} and "status" not in moved
    assert moved["metadata"]["resourceVersion"] == "7"  # the PUT is refused if someone else wrote meanwhile
    assert obj["spec"]["code"]["package"]["sha256"] == SHA1  # the watched copy is not changed
    reset = fo.with_settings(obj, FunctionSettings("python3.12", "app.other", ""), "later")
    assert reset["spec"]["environment"] == {} and reset["spec"]["handler"] == "app.other"
    assert fo.tags_of(fo.with_tags(obj, {"b": "2"})) == {"b": "2"}


def test_kubectl_applied_functions_read_with_defaults() -> None:
    obj = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "plain", "namespace": "default", "creationTimestamp": "2024-05-01T12:00:00Z"},
        "spec": {
            "runtime": "python3.12",
            "handler": "app.handler",
            "memory": "1Gi",
            "code": {"inline": {"app.py": ""}},
        },
    }
    assert fo.package_of(obj) is None and fo.tags_of(obj) == {}
    settings = fo.settings_of(obj, parse_manifest(obj))
    assert settings.memory == 1024 and settings.role == ""
    assert fo.last_modified(obj) == "2024-05-01T12:00:00.000+0000"


def test_layers_go_into_the_package_and_their_arns_into_an_annotation() -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:layer:tools:2"
    tools = LayerVersion("tools", 2, "cd" * 32, 77)
    settings = FunctionSettings("python3.12", "app.handler", "", layers=(arn,))
    body = fo.new_function("f", "default", settings, PackageRef("ab" * 32, 10), {}, "now", [(arn, tools)])
    assert body["spec"]["code"]["package"]["layers"] == [{"sha256": "cd" * 32, "size": 77}]
    assert fo.layers_of(body) == [{"Arn": arn, "CodeSize": 77}]
    body["metadata"]["generation"] = 1
    kept = fo.with_settings(body, settings, "later")  # no Layers in the request: the layers stay
    assert kept["spec"]["code"]["package"]["layers"] == [{"sha256": "cd" * 32, "size": 77}]
    assert fo.settings_of(kept, parse_manifest(kept)).layers == (arn,)
    removed = fo.with_settings(body, settings, "later", [])
    assert removed["spec"]["code"]["package"]["layers"] == [] and fo.layers_of(removed) == []
    new_code = fo.with_package(body, PackageRef("ef" * 32, 11), "later")
    assert new_code["spec"]["code"]["package"] == {
        "sha256": "ef" * 32,
        "size": 11,
        "layers": [{"sha256": "cd" * 32, "size": 77}],
    }
