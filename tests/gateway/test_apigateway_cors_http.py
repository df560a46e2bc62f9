"""CORS over real HTTP: the gateway answers preflights itself and sets the CORS headers of every response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from gateway_fakes import InProcessProvider, function, returns
from gateway_server import ThreadedServer
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo.models import Api
from kumo.runtime.invocation import error_payload
from kumo_gateway.app import create_app

SITE = "https://app.example.com"
EVIL = "https://evil.example.com"
OWN_CORS = {
    "statusCode": 200,
    "headers": {
        "content-type": "application/json",
        "access-control-allow-origin": "*",
        "Access-Control-Allow-Methods": "DELETE",
        "vary": "Accept-Encoding",
        "x-request-id": "r-1",
    },
    "body": json.dumps({"ok": True}),
}
WEB_CORS = {
    "allowOrigins": [SITE, "http://*"],
    "allowMethods": ["GET", "PUT"],
    "allowHeaders": ["Content-Type", "X-Api-Key"],
    "exposeHeaders": ["x-request-id"],
    "allowCredentials": True,
    "maxAge": 600,
}


def api(name: str, routes: list[dict[str, Any]], **spec: Any) -> Api:
    return Api.model_validate(
        {
            "apiVersion": "kumo.dev/v1alpha1",
            "kind": "Api",
            "metadata": {"name": name},
            "spec": {"routes": routes, **spec},
        }
    )


@dataclass
class Gateway:
    catalog: Catalog
    provider: InProcessProvider
    http: httpx.Client

    def invoked(self, function_name: str) -> int:
        return sum(1 for i in self.provider.invocations if f":function:{function_name}" in i.invoked_function_arn)


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    catalog = Catalog()
    handlers = {
        "own": returns(json.dumps(OWN_CORS).encode()),
        "options": returns(b'{"statusCode": 200, "body": "options route"}'),
        "fails": returns(error_payload("ValueError", "boom"), function_error="Unhandled"),
    }
    for name in handlers:
        catalog.set_function(function(name))
    provider = InProcessProvider(handlers)
    catalog.set_api(
        api(
            "web",
            [
                {"method": "GET", "path": "/items/{id}", "function": "own"},
                {"method": "POST", "path": "/items", "function": "own"},
                {"method": "OPTIONS", "path": "/items/{id}", "function": "options"},
                {"method": "GET", "path": "/fails", "function": "fails"},
            ],
            stages=[{"name": "dev"}],
            cors=WEB_CORS,
        )
    )
    catalog.set_api(api("open", [{"method": "GET", "path": "/", "function": "own"}], cors={"allowOrigins": ["*"]}))
    catalog.set_api(
        api(
            "plain",
            [
                {"method": "GET", "path": "/", "function": "own"},
                {"method": "OPTIONS", "path": "/", "function": "options"},
            ],
        )
    )
    server = ThreadedServer(create_app(catalog, provider, auth=make_authenticator()))
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            yield Gateway(catalog, provider, http)
    finally:
        server.stop()


def preflight(gw: Gateway, path: str, origin: str = SITE, method: str = "PUT", **headers: str) -> httpx.Response:
    return gw.http.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method, **headers})


@pytest.mark.parametrize("path", ["/web/dev/items/42", "/web/dev/no/route/here", "/web/dev/"])
def test_preflight_answered_by_the_gateway(gw: Gateway, path: str) -> None:
    before = len(gw.provider.invocations)
    response = preflight(gw, path, **{"Access-Control-Request-Headers": "content-type"})
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-methods"] == "GET,PUT"
    assert response.headers["access-control-allow-headers"] == "content-type,x-api-key"
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    assert response.headers["apigw-requestid"]
    assert "access-control-expose-headers" not in response.headers
    assert len(gw.provider.invocations) == before, "no function runs for a preflight, not even the OPTIONS route's"


def test_preflight_scheme_wildcard_origin(gw: Gateway) -> None:
    response = preflight(gw, "/web/dev/items/1", origin="http://localhost:5173")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_preflight_disallowed_origin_gets_no_cors_headers(gw: Gateway) -> None:
    response = preflight(gw, "/web/dev/items/42", origin=EVIL)
    assert (response.status_code, response.content) == (204, b"")
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert response.headers["vary"] == "Origin"


def test_options_without_request_method_is_routed(gw: Gateway) -> None:
    """Not a preflight (no Access-Control-Request-Method): the OPTIONS route runs, with CORS headers added."""
    before = gw.invoked("options")
    response = gw.http.options("/web/dev/items/42", headers={"Origin": SITE})
    assert (response.status_code, response.text) == (200, "options route")
    assert gw.invoked("options") == before + 1
    assert response.headers["access-control-allow-origin"] == SITE


def test_function_cors_headers_replaced_for_allowed_origin(gw: Gateway) -> None:
    response = gw.http.get("/web/dev/items/42", headers={"Origin": SITE})
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "x-request-id"
    assert "access-control-allow-methods" not in response.headers
    assert "access-control-max-age" not in response.headers
    assert response.headers["vary"] == "Accept-Encoding, Origin"
    assert response.headers["x-request-id"] == "r-1"


@pytest.mark.parametrize("origin", [EVIL, None])
def test_function_cors_headers_dropped_otherwise(gw: Gateway, origin: str | None) -> None:
    response = gw.http.get("/web/dev/items/42", headers={"Origin": origin} if origin else {})
    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert response.headers["vary"] == "Accept-Encoding, Origin"


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/web/dev/nothing", 404, "Not Found"),
        ("DELETE", "/web/dev/items/1", 404, "Not Found"),
        ("GET", "/web/dev/fails", 500, "Internal Server Error"),
        ("GET", "/web/prod/items/1", 404, "Not Found"),
    ],
)
def test_gateway_errors_carry_cors_headers(gw: Gateway, method: str, path: str, status: int, message: str) -> None:
    response = gw.http.request(method, path, headers={"Origin": SITE})
    assert (response.status_code, response.json()) == (status, {"message": message})
    assert response.headers["access-control-allow-origin"] == SITE
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["vary"] == "Origin"


def test_body_over_10_mb_is_413_with_cors_and_nothing_invoked(gw: Gateway) -> None:
    before = len(gw.provider.invocations)
    response = gw.http.post("/web/dev/items", content=b"x" * (11 * 1024 * 1024), headers={"Origin": SITE})
    assert (response.status_code, response.json()) == (413, {"message": "Request Entity Too Large"})
    assert response.headers["access-control-allow-origin"] == SITE
    assert len(gw.provider.invocations) == before


def test_any_origin_answers_star_without_vary(gw: Gateway) -> None:
    response = preflight(gw, "/open/$default/", origin="https://anyone.example")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert "vary" not in response.headers
    actual = gw.http.get("/open/$default/", headers={"Origin": "https://anyone.example"})
    assert actual.headers["access-control-allow-origin"] == "*"
    assert actual.headers["vary"] == "Accept-Encoding"


def test_api_without_cors_passes_everything_through(gw: Gateway) -> None:
    before = gw.invoked("options")
    response = preflight(gw, "/plain/$default/")
    assert (response.status_code, response.text) == (200, "options route"), "an ordinary OPTIONS request"
    assert gw.invoked("options") == before + 1
    assert preflight(gw, "/plain/$default/elsewhere").status_code == 404
    actual = gw.http.get("/plain/$default/", headers={"Origin": SITE})
    assert actual.headers["access-control-allow-origin"] == "*"  # the function's own
    assert actual.headers["access-control-allow-methods"] == "DELETE"
    assert actual.headers["vary"] == "Accept-Encoding"


def test_cors_configuration_changes_are_picked_up(gw: Gateway) -> None:
    catalog = gw.catalog
    routes = [{"method": "GET", "path": "/", "function": "own"}]
    catalog.set_api(api("temp", routes, cors={"allowOrigins": [SITE]}))
    try:
        assert preflight(gw, "/temp/$default/").headers["access-control-allow-origin"] == SITE
        catalog.set_api(api("temp", routes, cors={"allowOrigins": ["https://other.example"]}))
        assert "access-control-allow-origin" not in preflight(gw, "/temp/$default/").headers
        catalog.set_api(api("temp", routes))
        assert preflight(gw, "/temp/$default/").status_code == 404
    finally:
        catalog.remove_api("temp")
