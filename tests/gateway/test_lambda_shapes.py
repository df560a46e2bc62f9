"""Pure parts of the Lambda management API: operation matching, pagination, routing bodies, shapes."""

from __future__ import annotations

import pytest

from kumo.catalog import Catalog
from kumo.models import Function, FunctionSpec
from kumo.versions import Alias, NotFound, VersionError, code_sha256, take_snapshot
from kumo_gateway.lambda_.management import ReadOnlyVersions
from kumo_gateway.lambda_.shapes import (
    BadParameter,
    Operation,
    alias_configuration,
    function_configuration,
    match_operation,
    paginate,
    parse_routing,
)

F = "/2015-03-31/functions"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", F, Operation("ListFunctions")),
        ("GET", F + "/", Operation("ListFunctions")),
        ("GET", F + "/hello", Operation("GetFunction", "hello")),
        (
            "GET",
            F + "/arn:aws:lambda:us-east-1:000000000000:function:hello:1",
            Operation("GetFunction", "arn:aws:lambda:us-east-1:000000000000:function:hello:1"),
        ),
        ("GET", F + "/hello/configuration", Operation("GetFunctionConfiguration", "hello")),
        ("POST", F + "/hello/versions", Operation("PublishVersion", "hello")),
        ("GET", F + "/hello/versions", Operation("ListVersionsByFunction", "hello")),
        ("POST", F + "/hello/aliases", Operation("CreateAlias", "hello")),
        ("GET", F + "/hello/aliases", Operation("ListAliases", "hello")),
        ("GET", F + "/hello/aliases/live", Operation("GetAlias", "hello", "live")),
        ("PUT", F + "/hello/aliases/live", Operation("UpdateAlias", "hello", "live")),
        ("DELETE", F + "/hello/aliases/live", Operation("DeleteAlias", "hello", "live")),
        ("DELETE", F + "/hello", Operation("DeleteFunction", "hello")),
        ("PUT", F + "/hello", None),
        ("PUT", F + "/hello/versions", None),
        ("GET", F + "/hello/code", None),
        ("GET", F + "/hello/aliases/live/x", None),
        ("GET", F + "//aliases", None),
        ("GET", "/2015-03-31/event-source-mappings", None),
        ("GET", "/2015-03-31/functionsX", None),
    ],
)
def test_match_operation(method: str, path: str, expected: Operation | None) -> None:
    assert match_operation(method, path) == expected


def test_paginate() -> None:
    items = list(range(5))
    assert paginate(items, None, None, 50) == ([0, 1, 2, 3, 4], None)
    assert paginate(items, None, "2", 50) == ([0, 1], "2")
    assert paginate(items, "2", "2", 50) == ([2, 3], "4")
    assert paginate(items, "4", "2", 50) == ([4], None)
    assert paginate(items, None, None, 3) == ([0, 1, 2], "3")
    for marker, max_items in [("x", None), ("9", None), (None, "0"), (None, "10001"), (None, "two")]:
        with pytest.raises(BadParameter):
            paginate(items, marker, max_items, 50)


def test_parse_routing() -> None:
    assert parse_routing({}) is None
    assert parse_routing({"RoutingConfig": {}}) == {}
    assert parse_routing({"RoutingConfig": {"AdditionalVersionWeights": {"2": 0.1}}}) == {"2": 0.1}
    for bad in ["x", {"AdditionalVersionWeights": [1]}, {"AdditionalVersionWeights": {"2": "0.1"}}]:
        with pytest.raises(BadParameter):
            parse_routing({"RoutingConfig": bad})


def test_shapes() -> None:
    spec = FunctionSpec.model_validate(
        {
            "runtime": "python3.12",
            "handler": "app.handler",
            "code": {"inline": {"app.py": "x"}},
            "memory": "256Mi",
            "timeout": "30s",
            "environment": {"A": "b"},
        }
    )
    snapshot = take_snapshot(spec, {"app.py": "x"})
    shape = function_configuration(
        name="hello",
        function_arn="arn:x:hello:2",
        version="2",
        snapshot=snapshot,
        description="d",
        last_modified="2024-05-01T12:00:00.000+0000",
        account_id="000000000000",
    )
    assert {k: shape[k] for k in ("Runtime", "MemorySize", "Timeout", "Version", "State", "CodeSize")} == {
        "Runtime": "python3.12",
        "MemorySize": 256,
        "Timeout": 30,
        "Version": "2",
        "State": "Active",
        "CodeSize": 1,
    }
    assert shape["CodeSha256"] == snapshot.code_sha256 and shape["Environment"] == {"Variables": {"A": "b"}}
    alias = alias_configuration(Alias("live", "1", "", {"2": 0.1}, "r"), "arn:x:hello:live")
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    assert "RoutingConfig" not in alias_configuration(Alias("live", "1"), "arn")


def test_read_only_versions_for_a_gateway_without_a_store() -> None:
    catalog = Catalog()
    catalog.set_function(
        Function.model_validate(
            {
                "metadata": {"name": "hello"},
                "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": "x"}}},
            }
        )
    )
    backend = ReadOnlyVersions(catalog)
    assert backend.latest("hello").code_sha256 == code_sha256({"app.py": "x"})
    with pytest.raises(NotFound):
        backend.latest("missing")
    with pytest.raises(VersionError, match="not available on this gateway"):
        backend.publish("hello")
    with pytest.raises(VersionError, match="not available on this gateway"):
        backend.save("hello")
