"""Generated CRDs: committed files are current, schemas are structural and keep the models' limits."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kumo.crds import HEADER, build_crds, main, render
from kumo.sam import is_sam_template, translate

ROOT = Path(__file__).resolve().parents[2]
CHART_CRDS = ROOT / "charts" / "kumo" / "crds"
EXPECTED_FILES = {"functions.kumo.dev.yaml", "tables.kumo.dev.yaml", "apis.kumo.dev.yaml"}

FUNCTION = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Function",
    "metadata": {"name": "hello"},
    "spec": {
        "runtime": "python3.12",
        "handler": "app.handler",
        "code": {"inline": {"app.py": "def handler(event, context):\n    return {}\n"}},
        "timeout": "3s",
        "memory": "128Mi",
        "scaling": {"minInstances": 0, "maxInstances": 10, "idleTimeout": "60s"},
    },
}
API = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Api",
    "metadata": {"name": "hello"},
    "spec": {
        "routes": [{"method": "GET", "path": "/hello", "function": "hello"}],
        "stages": [{"name": "dev", "variables": {"greeting": "Hello"}}],
    },
}
TABLE = {
    "apiVersion": "kumo.dev/v1alpha1",
    "kind": "Table",
    "metadata": {"name": "orders"},
    "spec": {"partitionKey": {"name": "pk", "type": "S"}, "billingMode": "PAY_PER_REQUEST"},
}


def crd_by_kind() -> dict[str, dict[str, Any]]:
    return {crd["spec"]["names"]["kind"]: crd for crd in build_crds()}


def object_schema(kind: str) -> dict[str, Any]:
    return crd_by_kind()[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown fields like the API server's strict field validation (kubectl's default)."""
    schema = copy.deepcopy(schema)

    def walk(node: dict[str, Any]) -> None:
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for child in node.get("properties", {}).values():
            walk(child)
        if isinstance(node.get("items"), dict):
            walk(node["items"])
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"])

    walk(schema)
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def validate(kind: str, obj: dict[str, Any]) -> None:
    # OpenAPI v3.0 (boolean exclusiveMinimum, no null type) is closest to JSON Schema draft 4; the
    # x-kubernetes-* keys (CEL rules included) are ignored by jsonschema.
    jsonschema.Draft4Validator(strict(object_schema(kind))).validate(obj)


def structural_problems(node: dict[str, Any], where: str = "") -> list[str]:
    """Kubernetes' structural-schema rules that matter here, plus Kumo's own (no $ref, title...)."""
    problems = []
    for key in ("$ref", "$defs", "title", "allOf", "oneOf", "not", "nullable", "uniqueItems"):
        if key in node:
            problems.append(f"{where}: has {key}")
    if node.get("default", 0) is None:
        problems.append(f"{where}: default null")
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    if "anyOf" in node and (not int_or_string or node["anyOf"] != [{"type": "integer"}, {"type": "string"}]):
        problems.append(f"{where}: anyOf other than the int-or-string pair")
    if "type" not in node and not int_or_string and not node.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(f"{where}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{where}: both properties and additionalProperties")
    if node.get("type") == "object" and "required" in node:
        missing = set(node["required"]) - set(node.get("properties", {}))
        if missing:
            problems.append(f"{where}: required names unknown properties {sorted(missing)}")
    for rule in node.get("x-kubernetes-validations", []):
        if set(rule) - {"rule", "message"} or not rule.get("message"):
            problems.append(f"{where}: validation rule needs exactly rule and message: {rule}")
    for name, child in node.get("properties", {}).items():
        problems += structural_problems(child, f"{where}.{name}")
    if isinstance(node.get("items"), dict):
        problems += structural_problems(node["items"], f"{where}[]")
    if isinstance(node.get("additionalProperties"), dict):
        problems += structural_problems(node["additionalProperties"], f"{where}{{}}")
    return problems


def test_committed_crds_are_current(tmp_path: Path) -> None:
    """Fails when a model changed without regenerating: run ``python -m kumo.crds charts/kumo/crds``."""
    done = subprocess.run(
        [sys.executable, "-m", "kumo.crds", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    generated = {path.name for path in tmp_path.iterdir()}
    assert generated == EXPECTED_FILES
    committed = {path.name for path in CHART_CRDS.glob("*.kumo.dev.yaml")}
    assert committed == EXPECTED_FILES
    for name in sorted(EXPECTED_FILES):
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        assert fresh.startswith(HEADER)
        assert (CHART_CRDS / name).read_text(encoding="utf-8") == fresh, f"{name} is stale: run make crds"


def test_generation_is_deterministic() -> None:
    assert [render(crd) for crd in build_crds()] == [render(crd) for crd in build_crds()]


def test_cli_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: python -m kumo.crds OUTDIR" in capsys.readouterr().err


def test_crd_metadata() -> None:
    crds = crd_by_kind()
    expected = {"Function": ("functions", "fn"), "Table": ("tables", "tbl"), "Api": ("apis", "api")}
    for kind, (plural, short) in expected.items():
        crd = crds[kind]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        assert crd["metadata"]["name"] == f"{plural}.kumo.dev"
        spec = crd["spec"]
        assert (spec["group"], spec["scope"]) == ("kumo.dev", "Namespaced")
        names = spec["names"]
        assert (names["plural"], names["singular"], names["shortNames"]) == (plural, kind.lower(), [short])
        assert names["categories"] == ["kumo"]
        [version] = spec["versions"]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert version["subresources"] == {"status": {}}
        columns = {column["name"]: column["jsonPath"] for column in version["additionalPrinterColumns"]}
        assert columns["Ready"] == '.status.conditions[?(@.type=="Ready")].status'
        assert columns["Age"] == ".metadata.creationTimestamp"
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
        assert status == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    fn_columns = [c["name"] for c in crds["Function"]["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert fn_columns == ["Runtime", "Memory", "Version", "Ready", "Age"]
    api_columns = {c["name"]: c["jsonPath"] for c in crds["Api"]["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert api_columns["URL"] == ".status.url"
    table_columns = [c["name"] for c in crds["Table"]["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert table_columns == ["Partitions", "Billing", "Ready", "Age"]


@pytest.mark.parametrize("kind", ["Function", "Table", "Api"])
def test_schemas_are_structural(kind: str) -> None:
    assert structural_problems(object_schema(kind), kind) == []


def test_structural_checker_catches_problems() -> None:
    bad = {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}, "b": {}}}
    assert structural_problems(bad) == [".a: anyOf other than the int-or-string pair", ".a: no type", ".b: no type"]


@pytest.mark.parametrize("kind", ["Function", "Table", "Api"])
def test_crds_valid_kubernetes_objects(kind: str) -> None:
    crd = crd_by_kind()[kind]
    assert kubernetes_validate.validate(crd, "1.37.0", strict=True) == "1.37"
    broken = copy.deepcopy(crd)
    broken["spec"]["scope"] = ["Namespaced"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.37.0", strict=True)


def test_limits_present() -> None:
    spec = object_schema("Function")["properties"]["spec"]["properties"]
    memory = spec["memory"]
    assert (memory["minimum"], memory["maximum"]) == (128, 10240)
    assert memory["x-kubernetes-int-or-string"] is True
    assert "must be at least 128Mi" in [rule["message"] for rule in memory["x-kubernetes-validations"]]
    timeout = spec["timeout"]
    rules = {rule["message"]: rule["rule"] for rule in timeout["x-kubernetes-validations"]}
    assert rules["must be at most 900s"] == "type(self) == int ? self <= 900 : duration(self) <= duration('900s')"
    assert "must be a whole number of seconds" in rules
    assert timeout["default"] == "3s"
    assert spec["runtime"]["enum"] == [
        "python3.11",
        "python3.12",
        "python3.13",
        "provided",
        "provided.al2",
        "provided.al2023",
    ]
    assert spec["environment"]["additionalProperties"] == {"type": "string"}
    assert spec["concurrency"]["properties"]["reserved"]["maximum"] == 1000
    assert set(object_schema("Function")["properties"]["spec"]["required"]) == {"runtime", "handler", "code"}
    code_rules = [rule["message"] for rule in spec["code"]["x-kubernetes-validations"]]
    assert code_rules == [
        "exactly one of inline, configMap, image, path, zip or package is required",
        "requirements cannot be combined with image",
        "requirements cannot be combined with package (it is already built)",
    ]
    package = spec["code"]["properties"]["package"]
    assert package["properties"]["sha256"]["pattern"] == "^[0-9a-f]{64}$"
    assert package["properties"]["size"]["maximum"] == 50 * 1024 * 1024
    assert package["properties"]["layers"]["maxItems"] == 5
    table = object_schema("Table")["properties"]["spec"]["properties"]
    assert (table["partitions"]["minimum"], table["partitions"]["maximum"]) == (1, 64)
    assert table["partitionKey"]["properties"]["type"]["enum"] == ["S", "N", "B"]
    api = object_schema("Api")["properties"]["spec"]["properties"]
    assert api["routes"]["minItems"] == 1
    assert api["stages"]["x-kubernetes-list-map-keys"] == ["name"]
    assert api["payloadFormat"] == {"default": "2.0", "enum": ["1.0", "2.0"], "type": "string"}
    binary = api["binaryMediaTypes"]
    assert (binary["type"], binary["maxItems"], binary["x-kubernetes-list-type"]) == ("array", 100, "atomic")
    assert binary["items"]["maxLength"] == 255
    assert "default" not in binary


@pytest.mark.parametrize(("kind", "obj"), [("Function", FUNCTION), ("Api", API), ("Table", TABLE)])
def test_example_manifests_validate(kind: str, obj: dict[str, Any]) -> None:
    validate(kind, obj)


def test_stage_variable_targets_and_canaries_validate() -> None:
    obj = copy.deepcopy(API)
    obj["spec"]["routes"] = [
        {"method": "GET", "path": "/a", "function": "orders:${stageVariables.alias}"},
        {"method": "GET", "path": "/b", "function": "${stageVariables.fn}"},
        {"method": "GET", "path": "/c", "function": "orders:live"},
        {"method": "GET", "path": "/d", "function": "orders", "qualifier": "${stageVariables.alias}"},
    ]
    obj["spec"]["stages"] = [
        {"name": "prod", "variables": {"alias": "blue"}, "canary": {"percent": 10, "variables": {"alias": "green"}}},
        {"name": "dev", "canary": {"percent": 0.5}},
    ]
    validate("Api", obj)
    stage = object_schema("Api")["properties"]["spec"]["properties"]["stages"]["items"]["properties"]["canary"]
    percent = stage["properties"]["percent"]
    assert (percent["type"], percent["minimum"], percent["maximum"], percent["default"]) == ("number", 0, 100, 0.0)
    route = object_schema("Api")["properties"]["spec"]["properties"]["routes"]["items"]
    assert [rule["message"] for rule in route["x-kubernetes-validations"]] == [
        "give the qualifier in function (name:qualifier) or in qualifier, not both"
    ]


def test_binary_media_types_accepted() -> None:
    obj = copy.deepcopy(API)
    obj["spec"]["binaryMediaTypes"] = ["image/png", "image/*", "*/*", "application/vnd.api+json"]
    validate("Api", obj)


def test_api_cors_and_route_timeout_in_schema() -> None:
    obj = copy.deepcopy(API)
    obj["spec"]["routes"][0]["timeout"] = "50ms"
    obj["spec"]["cors"] = {
        "allowOrigins": ["https://app.example.com", "https://*", "http://*", "*", "null", "http://localhost:3000"],
        "allowMethods": ["get", "*"],
        "allowHeaders": ["Content-Type", "*"],
        "exposeHeaders": ["x-request-id"],
        "allowCredentials": False,
        "maxAge": -1,
    }
    validate("Api", obj)
    spec = object_schema("Api")["properties"]["spec"]["properties"]
    timeout = spec["routes"]["items"]["properties"]["timeout"]
    assert timeout["default"] == "30s"
    rules = {rule["message"]: rule["rule"] for rule in timeout["x-kubernetes-validations"]}
    # A whole number of seconds is compared with whole numbers (no int-double comparison in CEL).
    assert rules["must be at least 0.05s"] == "type(self) == int ? self >= 1 : duration(self) >= duration('0.05s')"
    assert rules["must be at most 30s"] == "type(self) == int ? self <= 30 : duration(self) <= duration('30s')"
    cors = spec["cors"]
    assert (cors["properties"]["maxAge"]["minimum"], cors["properties"]["maxAge"]["maximum"]) == (-1, 86400)
    assert cors["properties"]["allowCredentials"]["default"] is False
    assert [rule["message"] for rule in cors["x-kubernetes-validations"]] == [
        "allowCredentials cannot be true when allowOrigins contains '*' (browsers refuse credentials with a "
        "wildcard origin; API Gateway refuses this configuration): list the allowed origins instead"
    ]


def test_methods_any_case() -> None:
    obj = copy.deepcopy(API)
    obj["spec"]["routes"] = [{"method": "get", "path": "/items/{id}", "function": "f"}]
    validate("Api", obj)


def test_repository_examples_validate() -> None:
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if is_sam_template(text):  # SAM templates: what they translate into
            objects = translate(text, base_dir=path.parent).manifests
            assert objects
        else:
            objects = list(yaml.safe_load_all(text))
        for obj in objects:
            if obj and obj.get("apiVersion") == "kumo.dev/v1alpha1":
                validate(obj["kind"], obj)


@pytest.mark.parametrize(
    "change",
    [
        {"memory": 5},
        {"memory": 20000},
        {"memory": "lots"},
        {"timeout": 901},
        {"timeout": "soon"},
        {"timeoutt": "3s"},
        {"runtime": "nodejs20"},
        {"handler": "app"},
        {"scaling": {"maxInstances": 0}},
        {"scaling": {"idleTimeout": 0}},
        {"environment": {"PORT": 8080}},
    ],
)
def test_bad_function_refused(change: dict[str, Any]) -> None:
    obj = copy.deepcopy(FUNCTION)
    obj["spec"].update(change)
    with pytest.raises(jsonschema.ValidationError):
        validate("Function", obj)


@pytest.mark.parametrize(
    ("kind", "obj", "path", "value"),
    [
        ("Table", TABLE, ["partitions"], 65),
        ("Table", TABLE, ["partitionKey", "type"], "X"),
        ("Api", API, ["routes"], []),
        ("Api", API, ["payloadFormat"], "3.0"),
        ("Api", API, ["binaryMediaTypes"], ["png"]),
        ("Api", API, ["binaryMediaTypes"], ["*/png"]),
        ("Api", API, ["binaryMediaTypes"], "image/png"),
        ("Api", API, ["stages"], [{"name": "a b"}]),
        ("Api", API, ["routes"], [{"method": "FETCH", "path": "/", "function": "f"}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/a/", "function": "f"}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/", "function": "Orders"}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/", "function": "orders:"}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/", "function": "a" * 64}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/", "function": "${stageVariables.a.b}"}]),
        ("Api", API, ["stages"], [{"name": "p", "canary": {"percent": 100.5}}]),
        ("Api", API, ["stages"], [{"name": "p", "canary": {"percent": -0.1}}]),
        ("Api", API, ["stages"], [{"name": "p", "canary": {"percent": "10"}}]),
        ("Api", API, ["stages"], [{"name": "p", "canary": {"variables": {"v": "x" * 2049}}}]),
        ("Api", API, ["stages"], [{"name": "p", "canary": {"weight": 10}}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/", "function": "f", "timeout": "soon"}]),
        ("Api", API, ["routes"], [{"method": "GET", "path": "/", "function": "f", "timeout": 31}]),
        ("Api", API, ["cors"], {"maxAge": 86401}),
        ("Api", API, ["cors"], {"maxAge": -2}),
        ("Api", API, ["cors"], {"allowOrigins": ["https://example.com/"]}),
        ("Api", API, ["cors"], {"allowOrigins": ["https://*.example.com"]}),
        ("Api", API, ["cors"], {"allowMethods": ["GE T"]}),
        ("Api", API, ["cors"], {"allowHeaders": ["x:y"]}),
        ("Api", API, ["cors"], {"allowOrigin": ["*"]}),
        ("Api", API, ["cors"], {"allowOrigins": [f"https://{i}.example" for i in range(101)]}),
    ],
)
def test_bad_table_and_api_refused(kind: str, obj: dict[str, Any], path: list[str], value: Any) -> None:
    obj = copy.deepcopy(obj)
    target = obj["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(kind, obj)


def test_committed_files_parse_as_yaml() -> None:
    for name in EXPECTED_FILES:
        text = (CHART_CRDS / name).read_text(encoding="utf-8")
        assert text.startswith(HEADER)
        assert yaml.safe_load(text)["kind"] == "CustomResourceDefinition"


def test_rendered_crds_are_safe_for_yaml_1_1_readers():
    # kubectl and Helm read YAML 1.1, where a bare N or yes is a boolean: key type "N" must stay a string.
    import re

    from kumo.crds import build_crds, render

    for crd in build_crds():
        text = render(crd)
        assert "&id" not in text and "*id" not in text  # no anchors or aliases
        bare = re.findall(r"(?m)(?:^\s*-\s+|:\s+)(y|Y|yes|n|N|no|on|off)\s*$", text)
        assert bare == [], f"unquoted YAML 1.1 booleans in {crd['metadata']['name']}: {bare}"
    tables = next(c for c in build_crds() if c["spec"]["names"]["kind"] == "Table")
    assert "- 'N'" in render(tables)


def test_shop_example_validates_against_the_crds() -> None:
    kinds = []
    for path in sorted((ROOT / "examples" / "shop").glob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            validate(obj["kind"], obj)
            kinds.append(obj["kind"])
    assert sorted(kinds) == ["Api", "Function"]
    broken = yaml.safe_load((ROOT / "examples" / "shop" / "function.yaml").read_text(encoding="utf-8"))
    broken["spec"]["aliases"]["live"]["routing"] = {"2": 1.5}
    with pytest.raises(jsonschema.ValidationError):
        validate("Function", broken)


def test_event_sources_survive_the_api_servers_defaulting() -> None:
    """The API server stores a CRD's defaults; a stream or schedule event must not get the queue-only
    ``batchSize``/``maximumBatchingWindow`` (the model refuses them there), while a queue still gets 10."""
    from crd_schema import prune

    from kumo.models import Function

    schema = object_schema("Function")
    events = [
        {"stream": {"table": "orders"}},
        {"schedule": "rate(5 minutes)"},
        {"queue": "jobs"},
    ]
    stored = prune(copy.deepcopy({**FUNCTION, "spec": {**FUNCTION["spec"], "events": events}}), schema)
    assert all("batchSize" not in event for event in stored["spec"]["events"])
    parsed = Function.model_validate(stored).spec.events
    assert [e.stream is not None for e in parsed] == [True, False, False]
    assert parsed[2].batch_size == 10 and parsed[2].maximum_batching_window == 0
