"""Loading manifests from files and folders; error lines name file, kind, name and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kumo.manifests import ManifestError, Manifests, load_manifests, parse_manifest
from kumo.models import Api, Function, Table

HELLO = """\
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata: {name: hello}
spec:
  runtime: python3.12
  handler: app.handler
  code: {inline: {"app.py": "def handler(event, context):\\n    return {'message': 'Hello, ' + \
event.get('name', 'world') + '!'}\\n"}}
  timeout: 3s
  memory: 128Mi
  scaling: {minInstances: 0, maxInstances: 10, idleTimeout: 60s}
---
apiVersion: kumo.dev/v1alpha1
kind: Api
metadata: {name: hello}
spec:
  routes:
    - {method: GET, path: /hello, function: hello}
  stages:
    - {name: dev, variables: {greeting: Hello}}
"""

TABLE = """\
apiVersion: kumo.dev/v1alpha1
kind: Table
metadata: {name: orders}
spec:
  partitionKey: {name: pk, type: S}
  sortKey: {name: sk, type: N}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_errors(paths: list[Path]) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifests(paths)
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def test_multi_document_file(tmp_path: Path) -> None:
    path = write(tmp_path / "hello.yaml", HELLO + "---\n" + TABLE + "---\n")
    result = load_manifests([path])
    assert isinstance(result, Manifests)
    assert list(result.functions) == ["hello"] and list(result.apis) == ["hello"]
    assert list(result.tables) == ["orders"]
    fn = result.functions["hello"]
    assert isinstance(fn, Function) and fn.spec.timeout == 3.0 and fn.spec.memory == 128
    assert isinstance(result.apis["hello"], Api)
    assert isinstance(result.tables["orders"], Table)
    assert result.tables["orders"].spec.sort_key is not None
    assert result.sources[("Function", "hello")] == path
    assert result.sources[("Table", "orders")] == path
    assert result.check_references() == []


def test_folder_recursive_sorted_and_empty_documents(tmp_path: Path) -> None:
    write(tmp_path / "app" / "b" / "table.yml", "---\n\n---\n" + TABLE)
    write(tmp_path / "app" / "a.yaml", HELLO)
    write(tmp_path / "app" / "notes.txt", "not yaml: [")
    write(tmp_path / "app" / "empty.yaml", "")
    result = load_manifests([tmp_path / "app"])
    assert set(result.functions) == {"hello"} and set(result.tables) == {"orders"}
    assert result.sources[("Table", "orders")] == tmp_path / "app" / "b" / "table.yml"


def test_files_and_folders_mixed(tmp_path: Path) -> None:
    one = write(tmp_path / "one.yaml", HELLO)
    write(tmp_path / "more" / "t.yaml", TABLE)
    result = load_manifests([one, tmp_path / "more"])
    assert set(result.functions) == {"hello"} and set(result.tables) == {"orders"}


def test_error_lines_name_file_kind_name_and_field(tmp_path: Path) -> None:
    bad = HELLO.replace("timeout: 3s", "timeout: 1000s").replace("memory: 128Mi", "memory: 64Mi")
    path = write(tmp_path / "bad" / "fn.yaml", bad)
    assert load_errors([path]) == [
        f"{path}: Function 'hello': spec.memory: must be at least 128Mi",
        f"{path}: Function 'hello': spec.timeout: must be at most 900s",
    ]


def test_all_problems_across_files_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", HELLO.replace("path: /hello", "path: hello"))
    write(tmp_path / "b.yaml", TABLE.replace("partitionKey", "partitionKee"))
    problems = load_errors([tmp_path])
    assert problems == [
        f"{tmp_path / 'a.yaml'}: Api 'hello': spec.routes[0].path: must start with '/'",
        f"{tmp_path / 'b.yaml'}: Table 'orders': spec.partitionKey: is required",
        f"{tmp_path / 'b.yaml'}: Table 'orders': spec.partitionKee: unknown field",
    ]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "apiVersion: kumo.dev/v1alpha1\nkind: Function\nmetadata: {name: x\n")
    problems = load_errors([path])
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:4: invalid YAML: ")


def test_unknown_kind_and_api_version(tmp_path: Path) -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n"
        + TABLE.replace("kumo.dev/v1alpha1", "kumo.dev/v1")
        + "---\n- just\n- a list\n---\nmetadata: {name: nokind}\n"
    )
    path = write(tmp_path / "other.yaml", text)
    problems = load_errors([path])
    assert problems[0] == (
        f"{path}: Deployment 'web': kind 'Deployment' (apiVersion 'apps/v1') is not supported; "
        "expected Function, Api or Table (kumo.dev/v1alpha1) or ConfigMap (v1)"
    )
    assert problems[1] == f"{path}: Table 'orders': apiVersion must be kumo.dev/v1alpha1, got 'kumo.dev/v1'"
    assert problems[2] == f"{path}:12: expected a mapping with apiVersion and kind"
    assert problems[3] == f"{path}: object 'nokind': kind is required"
    assert len(problems) == 4


def test_duplicates_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", HELLO)
    second = write(tmp_path / "b.yaml", HELLO.split("---\n")[0] + "---\n" + TABLE + "---\n" + TABLE)
    problems = load_errors([tmp_path])
    assert problems == [
        f"{second}: Function 'hello': duplicate name (first defined in {first})",
        f"{second}: Table 'orders': duplicate name (first defined in {second})",
    ]


def test_same_name_different_kinds_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", HELLO + "---\n" + TABLE.replace("orders", "hello"))
    result = load_manifests([path])
    assert "hello" in result.functions and "hello" in result.apis and "hello" in result.tables


def test_config_maps_picked_up(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: hello-code}
data:
  app.py: |
    def handler(event, context):
        return 1
---
apiVersion: kumo.dev/v1alpha1
kind: Function
metadata: {name: cm-fn}
spec:
  runtime: python3.12
  handler: app.handler
  code: {configMap: {name: hello-code}}
"""
    path = write(tmp_path / "cm.yaml", text)
    result = load_manifests([path])
    assert result.config_maps == {"hello-code": {"app.py": "def handler(event, context):\n    return 1\n"}}
    assert result.sources[("ConfigMap", "hello-code")] == path
    assert result.check_references() == []
    # Without the ConfigMap the function still loads; the reference check reports it.
    path.write_text(text.split("---\n")[1], encoding="utf-8")
    result = load_manifests([path])
    assert result.check_references() == [
        f"{path}: Function 'cm-fn': spec.code.configMap.name: ConfigMap 'hello-code' not found"
    ]


def test_bad_config_map(tmp_path: Path) -> None:
    path = write(
        tmp_path / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {port: 8080}\n",
    )
    assert load_errors([path]) == [f"{path}: ConfigMap 'c': data must map file names to strings"]


def test_route_to_unknown_function_reported_by_reference_check(tmp_path: Path) -> None:
    path = write(tmp_path / "api.yaml", HELLO.split("---\n")[1])
    result = load_manifests([path])
    assert result.check_references() == [f"{path}: Api 'hello': spec.routes[0].function: Function 'hello' not found"]


def test_reference_check_reads_the_name_of_a_target(tmp_path: Path) -> None:
    # name:qualifier is checked by its name; a name chosen by stage variables only per request
    api = """apiVersion: kumo.dev/v1alpha1
kind: Api
metadata: {name: shop}
spec:
  routes:
    - {method: GET, path: /a, function: "orders:${stageVariables.alias}"}
    - {method: GET, path: /b, function: "${stageVariables.fn}:live"}
    - {method: GET, path: /c, function: "ghost:live"}
"""
    path = write(tmp_path / "api.yaml", api)
    assert load_manifests([path]).check_references() == [
        f"{path}: Api 'shop': spec.routes[0].function: Function 'orders' not found",
        f"{path}: Api 'shop': spec.routes[2].function: Function 'ghost' not found",
    ]


def test_missing_path(tmp_path: Path) -> None:
    assert load_errors([tmp_path / "nope.yaml"]) == [f"{tmp_path / 'nope.yaml'}: no such file or folder"]


def test_parse_manifest_one_object() -> None:
    obj = {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Table",
        "metadata": {"name": "orders", "uid": "1234", "resourceVersion": "9"},
        "spec": {"partitionKey": {"name": "pk", "type": "S"}},
        "status": {"conditions": []},
    }
    table = parse_manifest(obj)
    assert isinstance(table, Table) and table.metadata.name == "orders"
    obj["spec"]["partitions"] = 100
    with pytest.raises(ManifestError) as info:
        parse_manifest(obj)
    assert info.value.problems == ["Table 'orders': spec.partitions: must be at most 64"]
    with pytest.raises(ManifestError, match="expected a mapping"):
        parse_manifest(["not", "a", "dict"])  # type: ignore[arg-type]


def test_repository_examples_load() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "hello"
    result = load_manifests([examples])
    assert "hello" in result.functions and "hello" in result.apis
    assert result.check_references() == []


def test_shop_example_loads_with_aliases_stages_canary_and_cors() -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    shop = load_manifests([root / "shop"])
    function, api = shop.functions["shop"], shop.apis["shop"]
    assert function.spec.publish is True
    assert {name: (a.version, dict(a.routing)) for name, a in function.spec.aliases.items()} == {
        "live": (1, {"2": 0.1}),
        "next": (2, {}),
    }
    assert api.spec.payload_format == "1.0"
    assert [r.function for r in api.spec.routes] == ["shop:${stageVariables.alias}"]
    dev, prod = api.spec.stages
    assert (dev.name, dev.variables, dev.canary) == ("dev", {"alias": "$LATEST"}, None)
    assert (prod.name, prod.variables) == ("prod", {"alias": "live"})
    assert (prod.canary.percent, prod.canary.variables) == (10, {"alias": "next"})
    assert api.spec.cors.allow_origins == ["https://shop.example.com"]
    # what `make run` (kumo up EXAMPLES: every example folder but sam-app) loads
    everything = load_manifests([p for p in sorted(root.iterdir()) if p.is_dir() and p.name != "sam-app"])
    assert sorted(everything.functions) == [
        "authz",
        "create-pet",
        "get-pet",
        "hello",
        "list-pets",
        "shop",
        "todo",
    ]
    assert everything.check_references() == []
