"""NetworkPolicies: only gateway pods reach function and partition pods (the labels the operator sets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chart_render import find, one, render

from kumo.models import Function, Table
from kumo_operator.config import OperatorConfig
from kumo_operator.function_resources import build_function_version
from kumo_operator.table_resources import build_table


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels + matchExpressions) against ``labels``."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
            "In": labels.get(key) in values,
            "NotIn": key not in labels or labels[key] not in values,
        }[op]
        if not ok:
            return False
    return True


def pod_labels() -> dict[str, dict[str, str]]:
    fn_body = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Function",
        "metadata": {"name": "hello", "namespace": "kumo", "uid": "u", "generation": 1},
        "spec": {"runtime": "python3.12", "handler": "app.handler", "code": {"inline": {"app.py": "x = 1\n"}}},
    }
    table_body = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Table",
        "metadata": {"name": "orders", "namespace": "kumo", "uid": "t", "generation": 1},
        "spec": {"partitionKey": {"name": "pk", "type": "S"}},
    }
    config = OperatorConfig(gateway_internal_url="http://gw:8080")
    fn = build_function_version(fn_body, Function.model_validate(fn_body).spec, config)
    table = build_table(table_body, Table.model_validate(table_body).spec, config)
    gateway = one(render(), "Deployment", "kumo-gateway")
    operator = one(render(), "Deployment", "kumo-operator")
    return {
        "function": fn.deployment["spec"]["template"]["metadata"]["labels"],
        "table": table.stateful_set["spec"]["template"]["metadata"]["labels"],
        "gateway": gateway["spec"]["template"]["metadata"]["labels"],
        "operator": operator["spec"]["template"]["metadata"]["labels"],
    }


def test_policies_select_function_and_partition_pods_and_admit_only_gateway_pods() -> None:
    labels = pod_labels()
    for kind in ("function", "table"):
        policy = one(render(), "NetworkPolicy", f"kumo-{kind}-pods")
        spec = policy["spec"]
        assert policy["metadata"]["namespace"] == "kumo"
        assert spec["policyTypes"] == ["Ingress"]
        assert selects(spec["podSelector"], labels[kind])
        others = [k for k in labels if k != kind]
        assert not any(selects(spec["podSelector"], labels[k]) for k in others)  # not the platform's own pods
        [rule] = spec["ingress"]
        [peer] = rule["from"]
        assert "ports" not in rule
        assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kumo"}}
        assert selects(peer["podSelector"], labels["gateway"])
        assert not selects(peer["podSelector"], labels["operator"])
        assert not selects(peer["podSelector"], labels["function"])


def test_policies_follow_the_watched_namespace_and_can_be_switched_off() -> None:
    for policy in find(render("watchNamespace=apps"), "NetworkPolicy"):
        if policy["metadata"]["name"] == "kumo-codestore":  # beside the code store: test_chart_code_store.py
            continue
        assert policy["metadata"]["namespace"] == "apps"
        peer = policy["spec"]["ingress"][0]["from"][0]
        assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kumo"}  # the gateway's
    assert find(render("networkPolicy.enabled=false"), "NetworkPolicy") == []
    extra = render("networkPolicy.extraIngressFrom[0].namespaceSelector.matchLabels.team=monitoring")
    peers = one(extra, "NetworkPolicy", "kumo-function-pods")["spec"]["ingress"][0]["from"]
    assert peers[1] == {"namespaceSelector": {"matchLabels": {"team": "monitoring"}}}
