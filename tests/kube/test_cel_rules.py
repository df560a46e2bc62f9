"""The CRDs' CEL rules (``x-kubernetes-validations``) evaluated by the emulator: every rule compiles and
runs; for every rule a manifest the OpenAPI schema accepts is refused by ``kubectl apply`` with the
rule's message (422 Invalid), and valid manifests are accepted."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import cel_validation
import crd_schema
import pytest
import yaml
from celpy import celtypes
from cluster import REPO, KubeApi

from kumo.models.cors import CREDENTIALS_WITH_ANY_ORIGIN

CRDS = REPO / "charts" / "kumo" / "crds"
NS = "/apis/kumo.dev/v1alpha1/namespaces/default"
MI = 2**20


def schema_of(plural: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / f"{plural}.kumo.dev.yaml").read_text())
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


FUNCTION = yaml.safe_load((REPO / "examples" / "hello" / "function.yaml").read_text())
API = yaml.safe_load((REPO / "examples" / "hello" / "api.yaml").read_text())
TABLE = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Table",
    "metadata": {"name": "orders"},
    "spec": {"partitionKey": {"name": "pk", "type": "S"}, "sortKey": {"name": "sk", "type": "N"}},
}
BASES = {"functions": FUNCTION, "tables": TABLE, "apis": API}
THROUGHPUT = {"readCapacityUnits": 5, "writeCapacityUnits": 5}
GSI = {"name": "by-email", "partitionKey": {"name": "email", "type": "S"}}
HELLO_ROUTE = {"method": "GET", "path": "/hello", "function": "hello"}
JWT = {"type": "jwt", "issuer": "https://issuer.example", "audience": ["pets"], "jwks": {"uri": "https://i.example/j"}}
FN_AUTHZ = {"type": "function", "function": "authz", "identitySource": ["$request.header.Authorization"]}

#: (plural, field path, changes merged into the valid base, expected rule message)
REJECTED = [
    (
        "functions",
        "<nil>",
        {"metadata": {"name": "hello.world"}},
        "metadata.name must be a DNS-1123 label of at most 63 characters",
    ),
    (
        "functions",
        "<nil>",
        {"metadata": {"name": "a" * 64}},
        "metadata.name must be a DNS-1123 label of at most 63 characters",
    ),
    ("functions", "spec.memory", {"spec": {"memory": "64Mi"}}, "must be at least 128Mi"),
    ("functions", "spec.memory", {"spec": {"memory": "11Gi"}}, "must be at most 10240Mi"),
    ("functions", "spec.ephemeralStorage", {"spec": {"ephemeralStorage": "256Mi"}}, "must be at least 512Mi"),
    ("functions", "spec.ephemeralStorage", {"spec": {"ephemeralStorage": "10241Mi"}}, "must be at most 10240Mi"),
    ("functions", "spec.timeout", {"spec": {"timeout": "500ms"}}, "must be at least 1s"),
    ("functions", "spec.timeout", {"spec": {"timeout": "15m1s"}}, "must be at most 900s"),
    ("functions", "spec.timeout", {"spec": {"timeout": "1500ms"}}, "must be a whole number of seconds"),
    (
        "functions",
        "spec.async.maxEventAge",
        {"spec": {"async": {"maxEventAge": "59s"}}},
        "must be at least 60s",
    ),
    (
        "functions",
        "spec.async.maxEventAge",
        {"spec": {"async": {"maxEventAge": "6h1s"}}},
        "must be at most 21600s",
    ),
    (
        "functions",
        "spec.async.maxEventAge",
        {"spec": {"async": {"maxEventAge": "90500ms"}}},
        "must be a whole number of seconds",
    ),
    (
        "functions",
        "spec.async.onSuccess",
        {"spec": {"async": {"onSuccess": {"function": "a", "queue": "b"}}}},
        "exactly one of function or queue",
    ),
    (
        "functions",
        "spec.async.onFailure",
        {"spec": {"async": {"onFailure": {}}}},
        "exactly one of function or queue",
    ),
    ("functions", "spec.scaling.idleTimeout", {"spec": {"scaling": {"idleTimeout": "0s"}}}, "must be greater than 0s"),
    (
        "functions",
        "spec.scaling",
        {"spec": {"scaling": {"minInstances": 5, "maxInstances": 2}}},
        "maxInstances must be at least minInstances",
    ),
    (
        "functions",
        "spec.scaling",
        {"spec": {"scaling": {"minInstances": 11, "maxInstances": None}}},
        "maxInstances must be at least minInstances",
    ),
    (
        "functions",
        "spec.code",
        {"spec": {"code": {"image": "example/hello:1"}}},
        "exactly one of inline, configMap, image, path, zip or package is required",
    ),
    (
        "functions",
        "spec.code",
        {"spec": {"code": {"inline": None, "image": "example/hello:1", "requirements": ["six"]}}},
        "requirements cannot be combined with image",
    ),
    (
        "functions",
        "spec.code",
        {"spec": {"code": {"inline": None, "package": {"sha256": "a" * 64, "size": 10}, "requirements": ["six"]}}},
        "requirements cannot be combined with package (it is already built)",
    ),
    (
        "functions",
        "spec.aliases",
        {"spec": {"aliases": {"42": {"version": 1}}}},
        "alias names are 1-128 letters, digits, '-' or '_', and not only digits (a number names a version)",
    ),
    (
        "functions",
        "spec.aliases",
        {"spec": {"aliases": {"live": {"version": 2, "routing": {"2": 0.5}}}}},
        "the alias's version cannot also be in routing",
    ),
    (
        "functions",
        "spec.aliases",
        {"spec": {"aliases": {"live": {"version": 2, "routing": {"$LATEST": 0.5}}}}},
        "routing keys are version numbers",
    ),
    (
        "functions",
        "spec.events[0]",
        {"spec": {"events": [{"batchSize": 5}]}},
        "exactly one source (queue, schedule, stream) is required",
    ),
    (
        "functions",
        "spec.events[0]",
        {"spec": {"events": [{"queue": "jobs", "stream": {"table": "orders"}}]}},
        "exactly one source (queue, schedule, stream) is required",
    ),
    (
        "functions",
        "spec.events[0].maximumBatchingWindow",
        {"spec": {"events": [{"queue": "jobs", "maximumBatchingWindow": "5m1s"}]}},
        "must be at most 300s",
    ),
    ("tables", "<nil>", {"metadata": {"name": "ab"}}, "metadata.name must be a DNS-1123 label of 3 to 63 characters"),
    ("tables", "spec", {"spec": {"sortKey": {"name": "pk"}}}, "sortKey.name must differ from partitionKey.name"),
    (
        "tables",
        "spec",
        {"spec": {"billingMode": "PROVISIONED"}},
        "provisionedThroughput is required with billingMode PROVISIONED and not allowed otherwise",
    ),
    (
        "tables",
        "spec",
        {"spec": {"provisionedThroughput": THROUGHPUT}},
        "provisionedThroughput is required with billingMode PROVISIONED and not allowed otherwise",
    ),
    (
        "tables",
        "spec",
        {"spec": {"sortKey": None, "localSecondaryIndexes": [{"name": "by-x", "sortKey": {"name": "x", "type": "S"}}]}},
        "localSecondaryIndexes need a table sortKey",
    ),
    (
        "tables",
        "spec",
        {"spec": {"billingMode": "PROVISIONED", "provisionedThroughput": THROUGHPUT, "globalSecondaryIndexes": [GSI]}},
        "every globalSecondaryIndexes[].provisionedThroughput is required with billingMode PROVISIONED and not "
        "allowed otherwise",
    ),
    (
        "tables",
        "spec.globalSecondaryIndexes[0]",
        {"spec": {"globalSecondaryIndexes": [GSI | {"sortKey": {"name": "email", "type": "S"}}]}},
        "sortKey.name must differ from partitionKey.name",
    ),
    (
        "tables",
        "spec.globalSecondaryIndexes[0].projection",
        {"spec": {"globalSecondaryIndexes": [GSI | {"projection": {"type": "INCLUDE"}}]}},
        "nonKeyAttributes is required with type INCLUDE and not allowed otherwise",
    ),
    (
        "tables",
        "spec.localSecondaryIndexes[0].projection",
        {
            "spec": {
                "localSecondaryIndexes": [
                    {
                        "name": "by-x",
                        "sortKey": {"name": "x", "type": "S"},
                        "projection": {"type": "ALL", "nonKeyAttributes": ["a"]},
                    }
                ]
            }
        },
        "nonKeyAttributes is required with type INCLUDE and not allowed otherwise",
    ),
    (
        "apis",
        "spec.usagePlans[0].quota",
        {
            "spec": {
                "usagePlans": [
                    {"name": "basic", "stages": ["dev"], "quota": {"limit": 9, "period": "WEEK", "offset": 9}}
                ]
            }
        },
        "offset: 0 for DAY, 0 (Sunday) - 6 for WEEK, 0 (the 1st) - 27 for MONTH",
    ),
    (
        "apis",
        "<nil>",
        {"metadata": {"name": "hello.v2"}},
        "metadata.name must be a DNS-1123 label of at most 63 characters",
    ),
    (
        "apis",
        "spec.routes[0]",
        {"spec": {"routes": [{"method": "GET", "path": "/hello", "function": "hello:live", "qualifier": "live"}]}},
        "give the qualifier in function (name:qualifier) or in qualifier, not both",
    ),
    (
        "apis",
        "spec.routes[0].timeout",
        {"spec": {"routes": [HELLO_ROUTE | {"timeout": "49ms"}]}},
        "must be at least 0.05s",
    ),
    (
        "apis",
        "spec.routes[0].timeout",
        {"spec": {"routes": [HELLO_ROUTE | {"timeout": "30001ms"}]}},
        "must be at most 30s",
    ),
    (
        "apis",
        "spec.cors",
        {"spec": {"cors": {"allowOrigins": ["https://app.example.com", "*"], "allowCredentials": True}}},
        CREDENTIALS_WITH_ANY_ORIGIN,
    ),
    (
        "apis",
        "spec",
        {"spec": {"authorizers": {"a.b": FN_AUTHZ}}},
        "authorizer names are 1-128 letters, digits, '-' or '_'",
    ),
    (
        "apis",
        "spec",
        {"spec": {"routes": [HELLO_ROUTE | {"authorizer": "users"}]}},
        "a route's authorizer must be a name in spec.authorizers",
    ),
    (
        "apis",
        "spec",
        {
            "spec": {
                "authorizers": {"custom": FN_AUTHZ},
                "routes": [HELLO_ROUTE | {"authorizer": "custom", "authorizationScopes": ["a"]}],
            }
        },
        "authorizationScopes need a jwt authorizer",
    ),
    (
        "apis",
        "spec.authorizers.u",
        {"spec": {"authorizers": {"u": {"type": "jwt", "jwks": {"uri": "https://i.example/j"}}}}},
        "a jwt authorizer needs issuer and audience",
    ),
    (
        "apis",
        "spec.authorizers.u",
        {"spec": {"authorizers": {"u": JWT | {"secretRef": {"name": "s", "key": "k"}}}}},
        "give exactly one of jwks (RS256/ES256) or secretRef (HS256)",
    ),
    (
        "apis",
        "spec.authorizers.u",
        {"spec": {"authorizers": {"u": JWT | {"ttl": "10s"}}}},
        "a jwt authorizer takes none of function, ttl, payloadFormat, enableSimpleResponses",
    ),
    (
        "apis",
        "spec.authorizers.u",
        {"spec": {"authorizers": {"u": {"type": "function"}}}},
        "a function authorizer needs function",
    ),
    (
        "apis",
        "spec.authorizers.u",
        {"spec": {"authorizers": {"u": FN_AUTHZ | {"issuer": "https://i.example"}}}},
        "a function authorizer takes none of issuer, audience, jwks, secretRef",
    ),
    (
        "apis",
        "spec.authorizers.u",
        {"spec": {"authorizers": {"u": FN_AUTHZ | {"payloadFormat": "1.0", "enableSimpleResponses": True}}}},
        "enableSimpleResponses needs payloadFormat 2.0",
    ),
    (
        "apis",
        "spec.authorizers.u.ttl",
        {"spec": {"authorizers": {"u": FN_AUTHZ | {"ttl": "1h1s"}}}},
        "must be at most 3600s",
    ),
    (
        "apis",
        "spec.authorizers.u.ttl",
        {"spec": {"authorizers": {"u": FN_AUTHZ | {"ttl": "1500ms"}}}},
        "must be a whole number of seconds",
    ),
]
ACCEPTED = [
    ("functions", {}),
    ("functions", {"spec": {"code": {"inline": None, "path": "src", "requirements": "requirements.txt"}}}),
    (
        "functions",
        {"spec": {"runtime": "provided.al2023", "code": {"inline": None, "zip": "f.zip"}, "layers": ["a:1"]}},
    ),
    ("functions", {"spec": {"code": {"requirements": ["six==1.16.0"]}}}),
    (
        "functions",
        {"spec": {"memory": "10Gi", "ephemeralStorage": 512, "timeout": "15m", "async": {"maxEventAge": "1m"}}},
    ),
    (
        "functions",
        {
            "spec": {
                "memory": 10240,
                "timeout": 900,
                "scaling": {"minInstances": 3, "maxInstances": 3, "idleTimeout": "1µs"},
            }
        },
    ),
    (
        "functions",
        {"spec": {"publish": True, "aliases": {"live": {"version": 3, "routing": {"4": 0.1}}, "x_1": {"version": 1}}}},
    ),
    ("functions", {"metadata": {"name": "a" * 63}, "spec": {"code": {"inline": None, "image": "example/hello:1"}}}),
    ("tables", {"spec": {"billingMode": "PROVISIONED", "provisionedThroughput": THROUGHPUT}}),
    ("tables", {"metadata": {"name": "abc"}, "spec": {"sortKey": None}}),
    (
        "tables",
        {
            "spec": {
                "billingMode": "PROVISIONED",
                "provisionedThroughput": THROUGHPUT,
                "globalSecondaryIndexes": [
                    GSI
                    | {
                        "provisionedThroughput": THROUGHPUT,
                        "projection": {"type": "INCLUDE", "nonKeyAttributes": ["a"]},
                    }
                ],
                "localSecondaryIndexes": [{"name": "by-x", "sortKey": {"name": "x", "type": "S"}}],
            }
        },
    ),
    ("apis", {}),
    (
        "apis",
        {
            "spec": {
                "routes": [
                    {"method": "GET", "path": "/a", "function": "hello:${stageVariables.alias}"},
                    {"method": "GET", "path": "/b", "function": "hello", "qualifier": "${stageVariables.alias}"},
                ],
                "stages": [{"name": "dev", "variables": {"alias": "a"}, "canary": {"percent": 10, "variables": {}}}],
            }
        },
    ),
    (
        "apis",
        {
            "spec": {
                "routes": [HELLO_ROUTE | {"timeout": "50ms"}, HELLO_ROUTE | {"path": "/slow", "timeout": 30}],
                "cors": {"allowOrigins": ["https://app.example.com", "https://*"], "allowCredentials": True},
            }
        },
    ),
    ("apis", {"spec": {"cors": {"allowOrigins": ["*"], "allowMethods": ["*"], "maxAge": -1}}}),
    (
        "apis",
        {
            "spec": {
                "authorizers": {
                    "users": JWT,
                    "partners": JWT | {"jwks": None, "secretRef": {"name": "partners-jwt", "key": "secret"}},
                    "custom": FN_AUTHZ | {"ttl": "300s", "enableSimpleResponses": True},
                },
                "routes": [
                    HELLO_ROUTE | {"authorizer": "users", "authorizationScopes": ["pets/write"]},
                    HELLO_ROUTE | {"path": "/b", "authorizer": "custom"},
                ],
            }
        },
    ),
]


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (None deletes) applied to a copy of ``base``."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _schema_path(field: str) -> str:
    """``spec.routes[0]`` -> ``spec.routes[*]``; a map value ``spec.authorizers.u`` -> ``spec.authorizers{*}``."""
    return re.sub(r"^spec\.authorizers\.[^.\[]+", "spec.authorizers{*}", re.sub(r"\[\d+\]", "[*]", field))


@pytest.fixture
def kube_crds() -> Path:
    return CRDS


def test_every_rule_compiles_and_runs_with_both_outcomes() -> None:
    """Each rule runs on a value it accepts and on one it refuses (taken from the cases below)."""
    for plural in BASES:
        for path, entry in cel_validation.rules(schema_of(plural)):
            program = cel_validation.program(entry["rule"])  # raises CelRuleError if it does not compile
            assert program is not None
            # a rule on list items is at "routes[*]" in the schema, at "routes[0]" in a refusal
            cases = [c for c in REJECTED if (c[0], _schema_path(c[1])) == (plural, path) and c[3] == entry["message"]]
            assert cases, f"no manifest exercises {plural} {path}: {entry['message']}"


def test_go_durations_and_quantities() -> None:
    assert cel_validation.go_duration("1h30m") == celtypes.DurationType(seconds=5400)
    assert cel_validation.go_duration("1.5s") == celtypes.DurationType(seconds=1, nanos=500_000_000)
    assert cel_validation.go_duration("2µs") == cel_validation.go_duration("2μs") == celtypes.DurationType(0, 2000)
    with pytest.raises(cel_validation.CelRuleError):
        cel_validation.go_duration("5")
    assert cel_validation.Quantity("512Mi").value == 512 * MI
    assert cel_validation.Quantity("0.5Gi").value == 512 * MI
    assert cel_validation.Quantity("1e3").value == cel_validation.Quantity("1k").value == 1000
    assert cel_validation.Quantity("100m").value * 10 == 1
    rule = "quantity(self).compareTo(quantity('512Mi'))"
    assert [cel_validation.evaluate(rule, v) for v in ("511Mi", "0.5Gi", "1G")] == [-1, 0, 1]
    assert isinstance(cel_validation.evaluate(rule, "12 parsecs"), Exception)  # not a quantity: an error


@pytest.mark.parametrize(("plural", "field", "changes", "message"), REJECTED, ids=[c[3][:40] for c in REJECTED])
def test_manifest_refused_only_by_cel(
    kube_api: KubeApi, plural: str, field: str, changes: dict[str, Any], message: str
) -> None:
    obj = merged(BASES[plural], changes)
    schema = schema_of(plural)
    assert crd_schema.validate(obj, schema) == [], "the OpenAPI schema alone must accept this manifest"
    result = kube_api.kubectl("apply", "-f", "-", input=json.dumps(obj))
    assert result.returncode != 0
    name = obj["metadata"]["name"]
    assert f'The {obj["kind"]} "{name}" is invalid' in result.stderr, result.stderr
    assert f"{field}: Invalid value: " in result.stderr and message in result.stderr, result.stderr
    response = kube_api.request("POST", f"{NS}/{plural}", json=obj)
    status = response.json()
    assert (response.status_code, status["kind"], status["reason"]) == (422, "Status", "Invalid")
    assert {"reason": "FieldValueInvalid", "field": field} in [
        {k: c[k] for k in ("reason", "field")} for c in status["details"]["causes"] if message in c["message"]
    ]
    assert kube_api.request("GET", f"{NS}/{plural}/{name}").status_code == 404


@pytest.mark.parametrize(("plural", "changes"), ACCEPTED)
def test_valid_manifest_accepted(kube_api: KubeApi, plural: str, changes: dict[str, Any]) -> None:
    obj = merged(BASES[plural], changes)
    result = kube_api.kubectl("apply", "-f", "-", input=json.dumps(obj))
    assert result.returncode == 0, result.stderr
    assert kube_api.get(f"{NS}/{plural}/{obj['metadata']['name']}")["spec"]


def test_update_is_checked_and_unchanged_values_are_ratcheted(kube_api: KubeApi) -> None:
    assert kube_api.kubectl("apply", "-f", "-", input=json.dumps(FUNCTION)).returncode == 0
    refused = kube_api.request(
        "PATCH",
        f"{NS}/functions/hello",
        json={"spec": {"memory": "64Mi"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert refused.status_code == 422 and "must be at least 128Mi" in refused.json()["message"]
    # a status write leaves spec unchanged: its rules are not re-run (CRD validation ratcheting)
    schema = schema_of("functions")
    stored = merged(FUNCTION, {"spec": {"memory": "64Mi"}})
    assert cel_validation.validate(merged(stored, {"status": {"version": "v1"}}), schema, stored) == []
    assert cel_validation.validate(stored, schema) != []


def test_shop_example_passes_schema_and_cel_rules() -> None:
    """What `kubectl apply -f examples/shop` meets: the CRD schemas and every CEL rule (pure, no server)."""
    plurals = {"Function": "functions", "Api": "apis"}
    checked = []
    for path in sorted((REPO / "examples" / "shop").glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        schema = schema_of(plurals[obj["kind"]])
        assert crd_schema.validate(obj, schema) == [], path
        assert cel_validation.validate(obj, schema) == [], path
        checked.append(obj["kind"])
    assert sorted(checked) == ["Api", "Function"]
    bad = yaml.safe_load((REPO / "examples" / "shop" / "function.yaml").read_text())
    bad["spec"]["aliases"]["live"]["routing"] = {"1": 0.1}  # the primary cannot also be the additional version
    assert cel_validation.validate(bad, schema_of("functions")) != []
