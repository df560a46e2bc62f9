"""Pure builders for Tables and Api status, plus conditions and drift detection."""

from __future__ import annotations

import pytest

from kumo.models import Api, Table
from kumo_operator.api_status import api_state
from kumo_operator.apply import drift_patch, is_subset
from kumo_operator.conditions import set_condition, status_changes
from kumo_operator.config import OperatorConfig
from kumo_operator.specs import InvalidSpec, parse_body
from kumo_operator.table_resources import build_table


def table_body() -> dict:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Table",
        "metadata": {"name": "orders", "namespace": "default", "uid": "t-1", "generation": 1},
        "spec": {"partitionKey": {"name": "pk", "type": "S"}, "sortKey": {"name": "sk", "type": "N"}, "partitions": 4},
    }


def test_table_children() -> None:
    body = table_body()
    built = build_table(body, Table.model_validate(body).spec, OperatorConfig(table_storage_size="5Gi"))
    sts = built.stateful_set["spec"]
    assert sts["replicas"] == 4 and sts["serviceName"] == built.name
    container = sts["template"]["spec"]["containers"][0]
    args = container["args"]
    assert container["command"] == ["kumo"]
    assert args == [
        "partition",
        "--data-dir",
        "/data",
        "--host",
        "0.0.0.0",
        "--port",
        "8080",
        "--table",
        "orders",
        "--pod-name",
        "$(POD_NAME)",
    ]
    assert container["env"] == [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    claim = sts["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert built.service["spec"]["clusterIP"] == "None"
    assert built.service["spec"]["publishNotReadyAddresses"] is True
    assert built.disruption_budget["spec"]["maxUnavailable"] == 1
    assert sorted(child["kind"] for child in built.children) == ["PodDisruptionBudget", "Service", "StatefulSet"]
    for child in built.children:
        assert child["metadata"]["ownerReferences"][0]["uid"] == "t-1"


def test_api_status_names_missing_functions() -> None:
    api = Api.model_validate(
        {
            "metadata": {"name": "shop"},
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/items", "function": "list-items"},
                    {"method": "POST", "path": "/items", "function": "add-item"},
                ],
                "stages": [{"name": "prod"}, {"name": "dev"}],
            },
        }
    )
    state = api_state(api, {"list-items"}, "http://gw:8080/")
    assert (state.ready, state.reason) == (False, "FunctionNotFound")
    assert "POST /items -> add-item" in state.message and "list-items" not in state.message
    assert state.url == "http://gw:8080/shop/prod"
    assert [s["url"] for s in state.stages] == ["http://gw:8080/shop/prod", "http://gw:8080/shop/dev"]
    assert api_state(api, {"list-items", "add-item"}, "http://gw:8080").ready is True


def test_api_status_checks_qualified_targets_by_name_and_leaves_stage_variable_targets_to_the_gateway() -> None:
    api = Api.model_validate(
        {
            "metadata": {"name": "shop"},
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/orders", "function": "orders:${stageVariables.alias}"},
                    {"method": "GET", "path": "/any", "function": "${stageVariables.fn}"},
                    {"method": "GET", "path": "/cart", "function": "cart:live"},
                ],
                "stages": [{"name": "prod", "variables": {"alias": "live", "fn": "orders"}}],
            },
        }
    )
    assert api_state(api, {"orders", "cart"}, "http://gw:8080").ready is True
    state = api_state(api, {"orders"}, "http://gw:8080")
    assert (state.ready, state.reason) == (False, "FunctionNotFound")
    assert state.message == "Function not found for route(s): GET /cart -> cart:live"


def test_condition_transition_time_is_kept_while_status_holds() -> None:
    first = set_condition(None, "Ready", True, "Deployed", "v1", "T1")
    again = set_condition(first, "Ready", True, "Deployed", "v2", "T2")
    assert again[0]["lastTransitionTime"] == "T1" and again[0]["message"] == "v2"
    flipped = set_condition(again, "Ready", False, "InvalidSpec", "bad", "T3")
    assert flipped[0]["lastTransitionTime"] == "T3" and flipped[0]["status"] == "False"
    assert status_changes({"conditions": first, "version": "a"}, {"conditions": first, "version": "b"}) == {
        "version": "b"
    }


def test_invalid_spec_lines() -> None:
    body = table_body() | {"spec": {"partitionKey": {"name": "pk", "type": "S"}, "partitions": 99}}
    with pytest.raises(InvalidSpec) as info:
        parse_body(body)
    assert info.value.lines == ["spec.partitions: must be at most 64"]


def test_drift_ignores_server_defaults_and_create_only_fields() -> None:
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "n", "labels": {"a": "1"}},
        "spec": {"replicas": 0, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
    }
    actual = {
        "metadata": {"name": "d", "labels": {"a": "1"}, "uid": "x"},
        "spec": {
            "replicas": 5,
            "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "IfNotPresent"}]}},
        },
    }
    assert drift_patch(desired, actual) is None
    actual["spec"]["template"]["spec"]["containers"][0]["image"] = "evil"
    patch = drift_patch(desired, actual)
    assert patch is not None and "replicas" not in patch["spec"]
    assert patch["spec"]["template"]["spec"]["containers"][0]["image"] == "i"
    assert not is_subset([1, 2], [1])
