"""The gateway against the real resource models (the hello example) and the hot-path dispatcher."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from gateway_fakes import InProcessProvider, returns
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo.models import Api, Function
from kumo_gateway.apigateway.endpoint import compile_api, split_api_path
from kumo_gateway.app import create_app
from kumo_gateway.dispatch import pick_handler

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "hello"


def load(kind: type, name: str):
    return kind.model_validate(yaml.safe_load((EXAMPLES / name).read_text()))


def test_compile_real_api() -> None:
    compiled = compile_api(load(Api, "api.yaml"))
    stage = compiled.stages["dev"]
    assert (stage.primary.variables, stage.primary.canary, stage.canary) == ({"greeting": "Hello"}, None, None)
    assert compiled.payload_format == "2.0"
    match = compiled.routes.match("GET", "/hello")
    assert (match.route.function, match.route_key) == ("hello", "GET /hello")


def test_real_models_over_http(run_server) -> None:
    catalog = Catalog()
    catalog.set_function(load(Function, "function.yaml"))
    catalog.set_api(load(Api, "api.yaml"))
    provider = InProcessProvider({"hello": returns(b'{"message": "Hello, kumo!"}')})
    server = run_server(create_app(catalog, provider, auth=make_authenticator()))
    response = httpx.get(f"{server.base_url}/hello/dev/hello", params={"name": "kumo"})
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, kumo!"}
    assert b'"queryStringParameters":{"name":"kumo"}' in provider.invocations[-1].payload


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/shop/dev/items/1", ("shop", "dev", "/items/1")),
        ("/shop/dev", ("shop", "dev", "")),
        ("/shop/dev/", ("shop", "dev", "/")),
        ("/shop/%24default/x", ("shop", "$default", "/x")),
        ("/shop", None),
        ("/", None),
        ("//dev/x", None),
    ],
)
def test_split_api_path(path: str, expected) -> None:
    assert split_api_path(path) == expected


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/2015-03-31/functions/fn/invocations", ("invoke", "fn")),
        ("GET", "/2015-03-31/functions/fn/invocations", None),
        ("POST", "/2015-03-31/functions/fn/other", None),
        ("POST", "/2015-03-31/functions//invocations", None),
        ("GET", "/2015-03-31/functions", None),
        ("GET", "/healthz", None),
        ("POST", "/2018-10-31/layers/helpers/versions", None),
        ("GET", "/2018-10-31/layers", None),
        ("GET", "/2018-10-31/other", ("api", None)),
        ("PUT", "/2017-10-31/functions/fn/concurrency", None),
        ("GET", "/2019-09-30/functions/fn/concurrency", None),
        ("GET", "/2016-08-19/account-settings/", None),
        ("GET", "/shop/dev/x", ("api", None)),
        ("DELETE", "/", ("api", None)),
    ],
)
def test_pick_handler(method: str, path: str, expected) -> None:
    assert pick_handler(method, path, "invoke", "api") == expected  # type: ignore[arg-type]
