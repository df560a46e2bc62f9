"""Resource models: defaults, parsers, limits and their error messages, round-trips."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kumo.models import (
    API_VERSION,
    DEFAULT_STAGE,
    Api,
    Function,
    Table,
    format_duration,
    format_size_mib,
    format_validation_error,
    parse_duration,
    parse_size_mib,
)
from kumo.models.api import FUNCTION_TARGET_PATTERN, Canary, check_route_path, split_target

HELLO_SOURCE = "def handler(event, context):\n    return {'message': 'Hello, ' + event.get('name', 'world') + '!'}\n"


def function_doc(**spec: Any) -> dict[str, Any]:
    base = {"runtime": "python3.12", "handler": "app.handler", "code": {"inline": {"app.py": HELLO_SOURCE}}}
    return {"apiVersion": API_VERSION, "kind": "Function", "metadata": {"name": "hello"}, "spec": base | spec}


def api_doc(**spec: Any) -> dict[str, Any]:
    base = {"routes": [{"method": "GET", "path": "/hello", "function": "hello"}]}
    return {"apiVersion": API_VERSION, "kind": "Api", "metadata": {"name": "hello"}, "spec": base | spec}


def table_doc(name: str = "orders", **spec: Any) -> dict[str, Any]:
    base = {"partitionKey": {"name": "pk", "type": "S"}}
    return {"apiVersion": API_VERSION, "kind": "Table", "metadata": {"name": name}, "spec": base | spec}


def errors_of(model: Any, doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(doc)
    return format_validation_error(info.value)


# --- parsers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3s", 3.0), ("15m", 900.0), ("1h30m", 5400.0), ("500ms", 0.5), (10, 10.0), (2.5, 2.5), ("1.5h", 5400.0)],
)
def test_parse_duration(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "3", "3x", "s", "-1s", "1h 30m", True, None, -1, [1]])
def test_parse_duration_refuses(bad: Any) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "mib"),
    [("128Mi", 128), ("1Gi", 1024), (1024, 1024), ("512M", 489), ("2048Ki", 2), ("1.5Gi", 1536), ("1G", 954)],
)
def test_parse_size(text: Any, mib: int) -> None:
    assert parse_size_mib(text) == mib


@pytest.mark.parametrize("bad", ["", "128", "128MB", "Mi", "-1Mi", 1.5, True, None, -3])
def test_parse_size_refuses(bad: Any) -> None:
    with pytest.raises(ValueError, match="invalid size"):
        parse_size_mib(bad)


@given(st.integers(min_value=0, max_value=10**12))
def test_duration_format_round_trip(micros: int) -> None:
    seconds = micros / 1_000_000
    text = format_duration(seconds)
    assert parse_duration(text) == seconds


@given(
    st.integers(0, 99),
    st.integers(0, 59),
    st.integers(0, 59),
    st.integers(0, 999),
)
def test_duration_components(hours: int, minutes: int, secs: int, millis: int) -> None:
    text = f"{hours}h{minutes}m{secs}s{millis}ms"
    assert math.isclose(parse_duration(text), hours * 3600 + minutes * 60 + secs + millis / 1000)


@given(st.integers(0, 10**6), st.sampled_from(["Ki", "Mi", "Gi", "k", "M", "G"]))
def test_size_units(count: int, unit: str) -> None:
    factor = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1000, "M": 1000**2, "G": 1000**3}[unit]
    assert parse_size_mib(f"{count}{unit}") == math.ceil(count * factor / 1024**2)


@given(st.integers(0, 10**9))
def test_size_format_round_trip(mib: int) -> None:
    assert parse_size_mib(format_size_mib(mib)) == mib


# --- Function --------------------------------------------------------------------------------------


def test_function_defaults() -> None:
    fn = Function.model_validate(function_doc())
    spec = fn.spec
    assert (spec.memory, spec.timeout, spec.ephemeral_storage) == (128, 3.0, 512)
    assert (spec.scaling.min_instances, spec.scaling.max_instances, spec.scaling.idle_timeout) == (0, 10, 60.0)
    assert spec.concurrency.reserved is None
    assert (spec.async_.max_retry_attempts, spec.async_.max_event_age) == (2, 21600.0)
    assert spec.environment == {}


def test_function_values_parsed() -> None:
    doc = function_doc(
        timeout="15m",
        memory="1Gi",
        ephemeralStorage="1Gi",
        scaling={"minInstances": 1, "maxInstances": 3, "idleTimeout": "500ms"},
        concurrency={"reserved": 5},
        **{"async": {"maxRetryAttempts": 0, "maxEventAge": "1h", "onFailure": {"queue": "dlq"}}},
    )
    spec = Function.model_validate(doc).spec
    assert (spec.timeout, spec.memory, spec.ephemeral_storage) == (900.0, 1024, 1024)
    assert spec.scaling.idle_timeout == 0.5
    assert spec.concurrency.reserved == 5
    assert spec.async_.max_event_age == 3600.0
    assert spec.async_.on_failure is not None and spec.async_.on_failure.queue == "dlq"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"timeout": "901s"}, "spec.timeout: must be at most 900s"),
        ({"timeout": 0}, "spec.timeout: must be at least 1s"),
        ({"timeout": "1500ms"}, "spec.timeout: must be a whole number of seconds"),
        ({"memory": 5}, "spec.memory: must be at least 128Mi"),
        ({"memory": "11Gi"}, "spec.memory: must be at most 10240Mi"),
        ({"ephemeralStorage": "256Mi"}, "spec.ephemeralStorage: must be at least 512Mi"),
        ({"ephemeralStorage": 20000}, "spec.ephemeralStorage: must be at most 10240Mi"),
        ({"concurrency": {"reserved": 1001}}, "spec.concurrency.reserved: must be at most 1000"),
        ({"concurrency": {"reserved": -1}}, "spec.concurrency.reserved: must be at least 0"),
        ({"scaling": {"minInstances": -1}}, "spec.scaling.minInstances: must be at least 0"),
        ({"scaling": {"maxInstances": 0}}, "spec.scaling.maxInstances: must be at least 1"),
        (
            {"scaling": {"minInstances": 3, "maxInstances": 2}},
            "spec.scaling.maxInstances: must be at least minInstances (3), got 2",
        ),
        ({"scaling": {"idleTimeout": "0s"}}, "spec.scaling.idleTimeout: must be greater than 0s"),
        ({"async": {"maxRetryAttempts": 3}}, "spec.async.maxRetryAttempts: must be at most 2"),
        ({"async": {"onSuccess": {"function": "a", "queue": "b"}}}, "spec.async.onSuccess: exactly one of function"),
        ({"async": {"maxEventAge": "59s"}}, "spec.async.maxEventAge: must be at least 60s"),
        ({"async": {"maxEventAge": "7h"}}, "spec.async.maxEventAge: must be at most 21600s"),
        ({"timeout": "soon"}, "spec.timeout: invalid duration 'soon'"),
        ({"memory": "128"}, "spec.memory: invalid size '128': a size string needs a unit"),
        ({"code": {}}, "spec.code: exactly one of inline, configMap, image, path, zip or package is required"),
        (
            {"code": {"inline": {"a.py": ""}, "image": "x"}},
            "spec.code: exactly one of inline, configMap, image, path, zip or package is required",
        ),
        ({"code": {"inline": {}}}, "spec.code.inline: must have at least 1 item"),
        ({"runtime": "nodejs20"}, "spec.runtime: runtime 'nodejs20' is not supported yet"),
        ({"runtime": "nodejs22"}, "spec.runtime: runtime 'nodejs22' is not supported yet"),
        ({"runtime": "python2.7"}, "spec.runtime: unknown runtime 'python2.7'"),
        ({"handler": "app"}, "spec.handler: must be module.function"),
        ({"handler": "app.handler()"}, "spec.handler: must be module.function"),
        ({"timeoutt": "3s"}, "spec.timeoutt: unknown field"),
        ({"environment": {"PORT": 8080}}, "spec.environment.PORT: must be a string"),
        ({"aliases": {"12": {"version": 1}}}, "spec.aliases: alias '12': alias names are 1-128 letters"),
        ({"aliases": {"a.b": {"version": 1}}}, "spec.aliases: alias 'a.b': alias names are 1-128 letters"),
        (
            {"aliases": {"live": {"version": 0}}},
            "spec.aliases.live.version: must be at least 1",
        ),
        ({"aliases": {"live": {}}}, "spec.aliases.live.version: is required"),
        (
            {"aliases": {"live": {"version": 1, "routing": {"2": 1.5}}}},
            "spec.aliases.live.routing.2: must be at most 1.0",
        ),
        (
            {"aliases": {"live": {"version": 1, "routing": {"2": 0.1, "3": 0.1}}}},
            "spec.aliases.live.routing: must have at most 1 item",
        ),
        (
            {"aliases": {"live": {"version": 1, "routing": {"$LATEST": 0.1}}}},
            "spec.aliases.live.routing: routing key '$LATEST' must be a version number",
        ),
        (
            {"aliases": {"live": {"version": 1, "routing": {"1": 0.1}}}},
            "spec.aliases.live: version 1 is the alias's version and cannot also be in routing",
        ),
        ({"publish": "sometimes"}, "spec.publish: must be true or false"),
    ],
)
def test_function_limits(spec: dict[str, Any], expected: str) -> None:
    lines = errors_of(Function, function_doc(**spec))
    assert any(line.startswith(expected) for line in lines), lines


def test_function_publish_and_aliases() -> None:
    doc = function_doc(publish=True, aliases={"live": {"version": 3, "routing": {"4": 0.1}}, "beta": {"version": 4}})
    spec = Function.model_validate(doc).spec
    assert spec.publish is True
    assert (spec.aliases["live"].version, spec.aliases["live"].routing, spec.aliases["beta"].routing) == (
        3,
        {"4": 0.1},
        {},
    )
    defaults = Function.model_validate(function_doc()).spec
    assert (defaults.publish, defaults.aliases) == (False, {})


def test_missing_required_fields_named() -> None:
    doc = {"apiVersion": API_VERSION, "kind": "Function", "metadata": {"name": "x"}, "spec": {}}
    assert errors_of(Function, doc) == [
        "spec.runtime: is required",
        "spec.handler: is required",
        "spec.code: is required",
    ]


@pytest.mark.parametrize("handler", ["app.handler", "pkg.sub.mod.fn", "_m.f_1"])
def test_handler_accepts_dotted(handler: str) -> None:
    assert Function.model_validate(function_doc(handler=handler)).spec.handler == handler


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12", "python3.13"])
def test_supported_runtimes(runtime: str) -> None:
    assert Function.model_validate(function_doc(runtime=runtime)).spec.runtime == runtime


@pytest.mark.parametrize("name", ["/etc/passwd", "../x.py", "a/../b.py", "a//b.py", "./a.py", "", "a\\b.py"])
def test_inline_code_paths_refused(name: str) -> None:
    lines = errors_of(Function, function_doc(code={"inline": {name: "x = 1\n"}}))
    assert len(lines) == 1
    assert lines[0].startswith("spec.code.inline: file name")


def test_inline_nested_paths_and_other_sources() -> None:
    fn = Function.model_validate(function_doc(code={"inline": {"pkg/mod.py": "", "app.py": ""}}))
    assert set(fn.spec.code.inline or {}) == {"pkg/mod.py", "app.py"}
    fn = Function.model_validate(function_doc(code={"configMap": {"name": "hello-code"}}))
    assert fn.spec.code.config_map is not None and fn.spec.code.config_map.name == "hello-code"
    fn = Function.model_validate(function_doc(code={"image": "registry.local/hello:1"}))
    assert fn.spec.code.image == "registry.local/hello:1"


def test_environment_size_limit() -> None:
    # 4 bytes of name + 4092 bytes of value = 4096 bytes: exactly at the limit.
    ok = Function.model_validate(function_doc(environment={"NAME": "x" * 4092}))
    assert len(ok.spec.environment["NAME"]) == 4092
    lines = errors_of(Function, function_doc(environment={"NAME": "x" * 4093}))
    assert lines == ["spec.environment: total size of variables is 4097 bytes; must be at most 4096 bytes (4 KB)"]
    # The size counts UTF-8 bytes, not characters.
    lines = errors_of(Function, function_doc(environment={"NAME": "é" * 2047}))
    assert lines[0].startswith("spec.environment: total size of variables is 4098 bytes")


@pytest.mark.parametrize("name", ["AWS_REGION", "AWS_ACCESS_KEY_ID", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_X"])
def test_environment_reserved_names(name: str) -> None:
    lines = errors_of(Function, function_doc(environment={name: "v"}))
    assert lines == [f"spec.environment: {name!r} is a reserved variable name and cannot be set"]


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", ""])
def test_environment_bad_names(name: str) -> None:
    lines = errors_of(Function, function_doc(environment={name: "v"}))
    assert lines[0].startswith(f"spec.environment: invalid variable name {name!r}")


def test_environment_allowed_names() -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "TABLE_NAME": "orders", "_private": "1"}
    assert Function.model_validate(function_doc(environment=env)).spec.environment == env


@pytest.mark.parametrize("name", ["Hello", "-a", "a-", "a_b", "a" * 64, ""])
def test_metadata_name_rules(name: str) -> None:
    doc = function_doc()
    doc["metadata"]["name"] = name
    lines = errors_of(Function, doc)
    assert lines[0].startswith("metadata.name: ")


def test_metadata_extras_ignored_and_status_free_form() -> None:
    doc = function_doc()
    doc["metadata"] |= {"namespace": "default", "uid": "u-1", "resourceVersion": "7", "generation": 2}
    doc["metadata"]["labels"] = {"app": "hello"}
    doc["status"] = {"anything": ["goes"]}
    fn = Function.model_validate(doc)
    assert (fn.metadata.namespace, fn.metadata.labels) == ("default", {"app": "hello"})
    assert "uid" not in fn.metadata.model_dump(by_alias=True)


def test_envelope_checked() -> None:
    doc = function_doc()
    doc["apiVersion"] = "kumo.dev/v1"
    assert errors_of(Function, doc) == ["apiVersion: must be one of 'kumo.dev/v1alpha1'"]


def test_function_round_trip() -> None:
    doc = function_doc(timeout="90s", memory="1Gi", environment={"A": "1"}, scaling={"idleTimeout": "1500ms"})
    fn = Function.model_validate(doc)
    dumped = fn.model_dump(by_alias=True, exclude_none=True)
    assert Function.model_validate(dumped) == fn
    assert dumped["spec"]["timeout"] == "1m30s"
    assert dumped["spec"]["memory"] == "1024Mi"
    assert dumped["spec"]["scaling"]["idleTimeout"] == "1s500ms"
    assert dumped["spec"]["code"] == doc["spec"]["code"]
    assert dumped["apiVersion"] == API_VERSION and dumped["kind"] == "Function"
    assert "async" in dumped["spec"] and "async_" not in dumped["spec"]


def test_construct_by_python_names() -> None:
    fn = Function.model_validate(
        {
            "metadata": {"name": "py"},
            "spec": {
                "runtime": "python3.11",
                "handler": "m.f",
                "code": {"config_map": {"name": "cm"}},
                "ephemeral_storage": 1024,
            },
        }
    )
    assert fn.kind == "Function" and fn.spec.ephemeral_storage == 1024


# --- Table ---------------------------------------------------------------------------------------


def test_table_defaults_and_values() -> None:
    table = Table.model_validate(table_doc())
    assert (table.spec.partitions, table.spec.billing_mode) == (1, "PAY_PER_REQUEST")
    assert table.spec.sort_key is None and table.spec.stream is None
    table = Table.model_validate(
        table_doc(
            sortKey={"name": "sk", "type": "N"},
            partitions=8,
            ttlAttribute="expires",
            stream={"viewType": "NEW_AND_OLD_IMAGES"},
            billingMode="PROVISIONED",
            provisionedThroughput={"readCapacityUnits": 5, "writeCapacityUnits": 1},
        )
    )
    assert table.spec.stream is not None and table.spec.stream.view_type == "NEW_AND_OLD_IMAGES"
    assert table.spec.provisioned_throughput is not None
    assert table.spec.provisioned_throughput.read_capacity_units == 5
    assert Table.model_validate(table.model_dump(by_alias=True, exclude_none=True)) == table


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"partitions": 0}, "spec.partitions: must be at least 1"),
        ({"partitions": 65}, "spec.partitions: must be at most 64"),
        ({"partitionKey": {"name": "pk", "type": "X"}}, "spec.partitionKey.type: must be one of 'S', 'N' or 'B'"),
        ({"sortKey": {"name": "pk", "type": "S"}}, "spec.sortKey.name: must differ from partitionKey.name ('pk')"),
        ({"billingMode": "PROVISIONED"}, "spec.provisionedThroughput: is required when billingMode is PROVISIONED"),
        (
            {"provisionedThroughput": {"readCapacityUnits": 1, "writeCapacityUnits": 1}},
            "spec.provisionedThroughput: is only allowed when billingMode is PROVISIONED",
        ),
        (
            {"billingMode": "PROVISIONED", "provisionedThroughput": {"readCapacityUnits": 0, "writeCapacityUnits": 1}},
            "spec.provisionedThroughput.readCapacityUnits: must be at least 1",
        ),
        ({"stream": {"viewType": "ALL"}}, "spec.stream.viewType: must be one of"),
        ({"billingMode": "FREE"}, "spec.billingMode: must be one of 'PAY_PER_REQUEST' or 'PROVISIONED'"),
    ],
)
def test_table_limits(spec: dict[str, Any], expected: str) -> None:
    lines = errors_of(Table, table_doc(**spec))
    assert any(line.startswith(expected) for line in lines), lines


def test_table_needs_partition_key_and_long_name() -> None:
    doc = table_doc()
    del doc["spec"]["partitionKey"]
    assert errors_of(Table, doc) == ["spec.partitionKey: is required"]
    assert errors_of(Table, table_doc(name="ab"))[0].startswith("metadata.name: must be at least 3 characters")


# --- Api -----------------------------------------------------------------------------------------


def test_api_defaults() -> None:
    api = Api.model_validate(api_doc())
    assert api.spec.payload_format == "2.0"
    assert api.spec.stages == []
    assert [stage.name for stage in api.spec.effective_stages] == [DEFAULT_STAGE]


def test_binary_media_types() -> None:
    assert Api.model_validate(api_doc()).spec.binary_media_types == []
    given = ["image/png", "image/*", "*/*", "application/vnd.api+json", "Application/X-Custom.1"]
    api = Api.model_validate(api_doc(binaryMediaTypes=given))
    assert api.spec.binary_media_types == given
    assert api.model_dump(by_alias=True)["spec"]["binaryMediaTypes"] == given


@pytest.mark.parametrize(("given_value", "stored"), [("1.0", "1.0"), (1.0, "1.0"), (2.0, "2.0"), ("2.0", "2.0")])
def test_payload_format_numbers(given_value: Any, stored: str) -> None:
    assert Api.model_validate(api_doc(payloadFormat=given_value)).spec.payload_format == stored


def test_methods_upper_cased_and_stages() -> None:
    api = Api.model_validate(
        api_doc(
            routes=[
                {"method": "get", "path": "/items/{id}", "function": "hello"},
                {"method": "ANY", "path": "/items/{id}", "function": "hello", "qualifier": "live"},
                {"method": "post", "path": "/{proxy+}", "function": "other"},
                {"method": "GET", "path": "/", "function": "hello", "qualifier": "${stageVariables.alias}"},
            ],
            stages=[{"name": "dev", "variables": {"greeting": "Hello"}}, {"name": "$default"}],
        )
    )
    assert [route.method for route in api.spec.routes] == ["GET", "ANY", "POST", "GET"]
    assert api.spec.routes[3].qualifier == "${stageVariables.alias}"
    assert api.spec.stages[0].variables == {"greeting": "Hello"}
    assert [stage.name for stage in api.spec.effective_stages] == ["dev", "$default"]
    assert Api.model_validate(api.model_dump(by_alias=True, exclude_none=True)) == api


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("hello", "must start with '/'"),
        ("/a//b", "must not contain empty segments"),
        ("/a/", "must not contain empty segments"),
        ("/{p+}/b", "greedy parameter '{p+}' is only allowed as the last segment"),
        ("/{id}/{id}", "duplicate parameter name 'id'"),
        ("/a{id}", "invalid segment 'a{id}'"),
        ("/a b", "invalid segment 'a b'"),
    ],
)
def test_route_path_rules(path: str, problem: str) -> None:
    assert (check_route_path(path) or "").startswith(problem)
    lines = errors_of(Api, api_doc(routes=[{"method": "GET", "path": path, "function": "f"}]))
    assert lines[0].startswith(f"spec.routes[0].path: {problem}")


@pytest.mark.parametrize("path", ["/", "/a", "/a/{b}/c", "/{proxy+}", "/v1/{id}/{rest+}", "/a.b/c-d_e~"])
def test_route_paths_accepted(path: str) -> None:
    assert check_route_path(path) is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"routes": []}, "spec.routes: must have at least 1 item"),
        ({"routes": [{"method": "FETCH", "path": "/", "function": "f"}]}, "spec.routes[0].method: must be one of"),
        ({"routes": [{"method": "GET", "path": "/", "function": "F!"}]}, "spec.routes[0].function: must be a DNS"),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "f", "qualifier": "a b"}]},
            "spec.routes[0].qualifier: must match the pattern",
        ),
        (
            {
                "routes": [
                    {"method": "GET", "path": "/i/{id}", "function": "f"},
                    {"method": "get", "path": "/i/{key}", "function": "g"},
                ]
            },
            "spec.routes: routes[1] (GET /i/{key}) duplicates routes[0]",
        ),
        ({"stages": [{"name": "dev"}, {"name": "dev"}]}, "spec.stages: duplicate stage name 'dev'"),
        ({"stages": [{"name": "a b"}]}, "spec.stages[0].name: must match the pattern"),
        ({"stages": [{"name": "dev", "variables": {"a-b": "x"}}]}, "spec.stages[0].variables: invalid variable name"),
        (
            {"stages": [{"name": "dev", "variables": {"v": "x" * 2049}}]},
            "spec.stages[0].variables.v: must be at most 2048 characters long",
        ),
        ({"payloadFormat": "3.0"}, "spec.payloadFormat: must be one of '1.0' or '2.0'"),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "orders:"}]},
            "spec.routes[0].function: invalid function qualifier in 'orders:'",
        ),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "orders:a b"}]},
            "spec.routes[0].function: invalid function qualifier",
        ),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "${stageVariables.a-b}"}]},
            "spec.routes[0].function: invalid function name",
        ),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "${stageVariables.fn}_x"}]},
            "spec.routes[0].function: invalid function name",
        ),
        ({"routes": [{"method": "GET", "path": "/", "function": "a" * 64}]}, "spec.routes[0].function: must be a DNS"),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "f:live", "qualifier": "live"}]},
            "spec.routes[0]: give the qualifier in function (name:qualifier) or in qualifier, not both",
        ),
        (
            {"stages": [{"name": "p", "canary": {"percent": 100.5}}]},
            "spec.stages[0].canary.percent: must be at most 100",
        ),
        ({"stages": [{"name": "p", "canary": {"percent": -1}}]}, "spec.stages[0].canary.percent: must be at least 0"),
        (
            {"stages": [{"name": "p", "canary": {"variables": {"a.b": "x"}}}]},
            "spec.stages[0].canary.variables: invalid variable name 'a.b'",
        ),
        (
            {"stages": [{"name": "p", "canary": {"variables": {"v": "x" * 2049}}}]},
            "spec.stages[0].canary.variables.v: must be at most 2048 characters long",
        ),
        ({"stages": [{"name": "p", "canary": {"share": 5}}]}, "spec.stages[0].canary.share: unknown field"),
        ({"binaryMediaTypes": ["png"]}, "spec.binaryMediaTypes[0]: must match the pattern"),
        ({"binaryMediaTypes": ["image/png", "*/png"]}, "spec.binaryMediaTypes[1]: must match the pattern"),
        ({"binaryMediaTypes": ["image/p ng"]}, "spec.binaryMediaTypes[0]: must match the pattern"),
        ({"binaryMediaTypes": ["a/" + "b" * 254]}, "spec.binaryMediaTypes[0]: must be at most 255 characters"),
        ({"binaryMediaTypes": ["a/b"] * 101}, "spec.binaryMediaTypes: must have at most 100 items"),
        ({"binaryMediaTypes": "image/png"}, "spec.binaryMediaTypes: "),
    ],
)
def test_api_limits(spec: dict[str, Any], expected: str) -> None:
    lines = errors_of(Api, api_doc(**spec))
    assert any(line.startswith(expected) for line in lines), lines


@pytest.mark.parametrize(
    ("function", "name"),
    [
        ("orders", "orders"),
        ("orders:live", "orders"),
        ("orders:$LATEST", "orders"),
        ("orders:7", "orders"),
        ("orders:${stageVariables.alias}", "orders"),
        ("orders:v${stageVariables.n}-x", "orders"),
        ("${stageVariables.fn}", None),
        ("${stageVariables.fn}:${stageVariables.alias}", None),
        ("app-${stageVariables.env}", None),
    ],
)
def test_route_targets(function: str, name: str | None) -> None:
    api = Api.model_validate(api_doc(routes=[{"method": "GET", "path": "/", "function": function}]))
    route = api.spec.routes[0]
    assert (route.function, route.function_name) == (function, name)
    assert split_target(function)[0] == function.partition(":")[0]


def test_stage_canary() -> None:
    api = Api.model_validate(
        api_doc(
            stages=[
                {"name": "prod", "variables": {"alias": "blue"}, "canary": {"percent": 12.5, "variables": {"a": "b"}}},
                {"name": "dev"},
                {"name": "zero", "canary": {}},
            ]
        )
    )
    prod, dev, zero = api.spec.stages
    assert prod.canary == Canary(percent=12.5, variables={"a": "b"})
    assert dev.canary is None
    assert zero.canary == Canary(percent=0.0, variables={})
    dumped = api.model_dump(by_alias=True, exclude_none=True)
    assert dumped["spec"]["stages"][0]["canary"] == {"percent": 12.5, "variables": {"a": "b"}}
    assert "canary" not in dumped["spec"]["stages"][1]
    assert Api.model_validate(dumped) == api


@given(st.from_regex(FUNCTION_TARGET_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 256))
def test_function_pattern_agrees_with_the_model(function: str) -> None:
    # what the CRD's pattern lets through, the model accepts too (the API server and Kumo agree)
    Api.model_validate(api_doc(routes=[{"method": "GET", "path": "/", "function": function}]))


# --- Api: route timeouts and CORS -----------------------------------------------------------------


def test_route_timeout_default_and_parsing() -> None:
    api = Api.model_validate(
        api_doc(
            routes=[
                {"method": "GET", "path": "/a", "function": "f"},
                {"method": "GET", "path": "/b", "function": "f", "timeout": "50ms"},
                {"method": "GET", "path": "/c", "function": "f", "timeout": 12},
                {"method": "GET", "path": "/d", "function": "f", "timeout": "1.5s"},
            ]
        )
    )
    assert [route.timeout for route in api.spec.routes] == [30.0, 0.05, 12.0, 1.5]
    dumped = api.model_dump(by_alias=True, exclude_none=True)
    assert [route["timeout"] for route in dumped["spec"]["routes"]] == ["30s", "50ms", "12s", "1s500ms"]
    assert Api.model_validate(dumped) == api
    assert api.spec.cors is None


def test_cors_parsed_and_normalised() -> None:
    api = Api.model_validate(
        api_doc(
            cors={
                "allowOrigins": ["https://app.example.com", "https://*", "http://*", "null"],
                "allowMethods": ["get", "Post", "*"],
                "allowHeaders": ["Content-Type", "*"],
                "exposeHeaders": ["X-Request-Id"],
                "allowCredentials": True,
                "maxAge": 0,
            }
        )
    )
    cors = api.spec.cors
    assert cors is not None
    assert cors.allow_origins == ["https://app.example.com", "https://*", "http://*", "null"]
    assert cors.allow_methods == ["GET", "POST", "*"]
    assert cors.allow_headers == ["content-type", "*"]
    assert cors.expose_headers == ["x-request-id"]
    assert (cors.allow_credentials, cors.max_age) == (True, 0)
    assert Api.model_validate(api.model_dump(by_alias=True, exclude_none=True)) == api
    empty = Api.model_validate(api_doc(cors={})).spec.cors
    assert empty is not None
    assert (empty.allow_origins, empty.allow_credentials, empty.max_age) == ([], False, None)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"routes": [{"method": "GET", "path": "/", "function": "f", "timeout": "49ms"}]},
            "spec.routes[0].timeout: must be at least 0.05s",
        ),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "f", "timeout": "30001ms"}]},
            "spec.routes[0].timeout: must be at most 30s",
        ),
        (
            {"routes": [{"method": "GET", "path": "/", "function": "f", "timeout": "10"}]},
            "spec.routes[0].timeout: invalid duration '10': a duration string needs a unit",
        ),
        (
            {"cors": {"allowOrigins": ["https://a.example", "*"], "allowCredentials": True}},
            "spec.cors: allowCredentials cannot be true when allowOrigins contains '*'",
        ),
        (
            {"cors": {"allowOrigins": ["https://*.example.com"]}},
            "spec.cors.allowOrigins[0]: 'https://*.example.com': a wildcard origin must be exactly '*', 'https://*'",
        ),
        (
            {"cors": {"allowOrigins": ["https://example.com/"]}},
            "spec.cors.allowOrigins[0]: 'https://example.com/' is not an origin: write scheme://host[:port]",
        ),
        ({"cors": {"allowOrigins": ["example.com"]}}, "spec.cors.allowOrigins[0]: 'example.com' is not an origin"),
        ({"cors": {"allowOrigins": [""]}}, "spec.cors.allowOrigins[0]: must not be empty"),
        ({"cors": {"allowMethods": ["GE T"]}}, "spec.cors.allowMethods[0]: 'GE T' is not a method"),
        ({"cors": {"allowHeaders": ["x:y"]}}, "spec.cors.allowHeaders[0]: 'x:y' is not a header name"),
        ({"cors": {"exposeHeaders": ["a b"]}}, "spec.cors.exposeHeaders[0]: 'a b' is not a header name"),
        ({"cors": {"maxAge": 86401}}, "spec.cors.maxAge: must be at most 86400"),
        ({"cors": {"maxAge": -2}}, "spec.cors.maxAge: must be at least -1"),
        ({"cors": {"maxAge": "5m"}}, "spec.cors.maxAge: must be an integer"),
        ({"cors": {"allowOrigin": ["*"]}}, "spec.cors.allowOrigin: unknown field"),
        ({"cors": {"allowOrigins": "*"}}, "spec.cors.allowOrigins: must be a list"),
        (
            {"cors": {"allowOrigins": [f"https://{i}.example" for i in range(101)]}},
            "spec.cors.allowOrigins: must have at most 100 items",
        ),
    ],
)
def test_route_timeout_and_cors_limits(spec: dict[str, Any], expected: str) -> None:
    lines = errors_of(Api, api_doc(**spec))
    assert any(line.startswith(expected) for line in lines), lines
