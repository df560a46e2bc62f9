"""Api routes over real HTTP: routing, events, stages, response mapping and gateway errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from gateway_fakes import InProcessProvider, Stage, api, crashes, function, returns
from gateway_server import ThreadedServer
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo.runtime.invocation import Invocation, InvocationResult, error_payload
from kumo_gateway.apigateway.route_matching import RouteSpec
from kumo_gateway.app import create_app

PNG = bytes(range(256))


def show_event(invocation: Invocation) -> InvocationResult:
    """Answers with the event it got, and a cookie."""
    body = {"event": json.loads(invocation.payload), "arn": invocation.invoked_function_arn}
    result = {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-handled-by": "show"},
        "cookies": ["session=abc; HttpOnly", "theme=dark"],
        "body": json.dumps(body),
    }
    return InvocationResult(json.dumps(result).encode())


def binary(invocation: Invocation) -> InvocationResult:
    result = {
        "statusCode": 200,
        "headers": {"content-type": "image/png"},
        "body": base64.b64encode(PNG).decode(),
        "isBase64Encoded": True,
    }
    return InvocationResult(json.dumps(result).encode())


@dataclass
class Gateway:
    url: str
    catalog: Catalog
    provider: InProcessProvider
    http: httpx.Client


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    catalog = Catalog()
    handlers = {
        "show": show_event,
        "binary": binary,
        "plain": returns(b'{"hello": "world"}'),
        "malformed": returns(b"<html>not json"),
        "fails": returns(error_payload("ValueError", "boom"), function_error="Unhandled"),
        "busy": show_event,
        "cold": show_event,
    }
    for name in handlers:
        catalog.set_function(function(name))
    provider = InProcessProvider(handlers)
    provider.throttled.add("busy")
    provider.unavailable.add("cold")
    catalog.set_api(
        api(
            "shop",
            [
                RouteSpec("GET", "/items/{id}", "show"),
                RouteSpec("POST", "/items", "show"),
                RouteSpec("GET", "/files/{proxy+}", "show"),
                RouteSpec("ANY", "/", "show"),
                RouteSpec("GET", "/image", "binary"),
                RouteSpec("GET", "/plain", "plain"),
                RouteSpec("GET", "/malformed", "malformed"),
                RouteSpec("GET", "/fails", "fails"),
                RouteSpec("GET", "/busy", "busy"),
                RouteSpec("GET", "/cold", "cold"),
                RouteSpec("GET", "/missing", "no-such-function"),
                RouteSpec("GET", "/aliased", "show", "${stageVariables.alias}"),
            ],
            [Stage("dev", {"alias": "$LATEST", "table": "items-dev"}), Stage("prod", {"alias": "live"})],
        )
    )
    catalog.set_api(api("open", [RouteSpec("ANY", "/{proxy+}", "show")]))
    server = ThreadedServer(create_app(catalog, provider, auth=make_authenticator()))
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            yield Gateway(server.base_url, catalog, provider, http)
    finally:
        server.stop()


def event_of(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_path_and_query_parameters(gw: Gateway) -> None:
    response = gw.http.get("/shop/dev/items/a%20b", params=[("x", "1"), ("x", "2"), ("q", "é")])
    event = event_of(response)
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/dev/items/a%20b"
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "1,2", "q": "é"}
    assert event["rawQueryString"] == "x=1&x=2&q=%C3%A9"
    assert event["stageVariables"] == {"alias": "$LATEST", "table": "items-dev"}
    context = event["requestContext"]
    assert (context["apiId"], context["stage"], context["accountId"]) == ("shop", "dev", "000000000000")
    assert context["http"]["method"] == "GET"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert "body" not in event


def test_response_headers_and_cookies(gw: Gateway) -> None:
    response = gw.http.get("/shop/dev/items/1")
    assert response.headers["x-handled-by"] == "show"
    assert response.headers.get_list("set-cookie") == ["session=abc; HttpOnly", "theme=dark"]
    assert response.headers["content-type"] == "application/json"


def test_request_cookies_and_headers(gw: Gateway) -> None:
    headers = [("Cookie", "a=1; b=2"), ("X-Thing", "one"), ("X-Thing", "two")]
    event = event_of(gw.http.get("/shop/dev/items/1", headers=headers))
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-thing"] == "one,two"
    assert "cookie" not in event["headers"]


def test_post_json_body(gw: Gateway) -> None:
    event = event_of(gw.http.post("/shop/dev/items", json={"name": "widget"}))
    assert event["routeKey"] == "POST /items"
    assert json.loads(event["body"]) == {"name": "widget"}
    assert event["isBase64Encoded"] is False


def test_post_binary_body(gw: Gateway) -> None:
    event = event_of(gw.http.post("/shop/dev/items", content=PNG, headers={"content-type": "image/png"}))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG


def test_greedy_path(gw: Gateway) -> None:
    event = event_of(gw.http.get("/shop/dev/files/a/b/c.txt"))
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}


def test_stage_root(gw: Gateway) -> None:
    for path in ("/shop/dev", "/shop/dev/"):
        event = event_of(gw.http.delete(path))
        assert event["routeKey"] == "ANY /"
        assert event["requestContext"]["http"]["method"] == "DELETE"


def test_default_stage_has_no_prefix(gw: Gateway) -> None:
    event = event_of(gw.http.put("/open/$default/x/y"))
    assert event["rawPath"] == "/x/y"
    assert event["requestContext"]["stage"] == "$default"
    assert "stageVariables" not in event
    assert event["pathParameters"] == {"proxy": "x/y"}


def test_binary_response(gw: Gateway) -> None:
    response = gw.http.get("/shop/dev/image")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == PNG


def test_result_without_status_code(gw: Gateway) -> None:
    response = gw.http.get("/shop/dev/plain")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"hello": "world"}


def test_stage_variable_qualifier(gw: Gateway) -> None:
    response = gw.http.get("/shop/dev/aliased")
    assert response.json()["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:show:$LATEST"
    # prod points the alias at "live", which does not exist (yet)
    missing = gw.http.get("/shop/prod/aliased")
    assert missing.status_code == 500
    assert missing.json() == {"message": "Internal Server Error"}


@pytest.mark.parametrize(
    "path",
    ["/nope/dev/items/1", "/shop/staging/items/1", "/shop/dev/unrouted", "/shop", "/", "/shop/$default/items/1"],
)
def test_not_found(gw: Gateway, path: str) -> None:
    response = gw.http.get(path)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_method_not_routed(gw: Gateway) -> None:
    response = gw.http.delete("/shop/dev/items/1")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/shop/dev/malformed", 502, "Internal server error"),
        ("/shop/dev/fails", 500, "Internal Server Error"),
        ("/shop/dev/missing", 500, "Internal Server Error"),
        ("/shop/dev/busy", 429, "Too Many Requests"),
        ("/shop/dev/cold", 503, "Service Unavailable"),
    ],
)
def test_gateway_errors(gw: Gateway, path: str, status: int, message: str) -> None:
    response = gw.http.get(path)
    assert response.status_code == status
    assert response.json() == {"message": message}
    assert response.headers["apigw-requestid"]


def test_body_too_large(gw: Gateway) -> None:
    response = gw.http.post("/shop/dev/items", content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


def test_event_larger_than_lambda_limit(gw: Gateway) -> None:
    body = b"\x00" * (5 * 1024 * 1024)  # base64 makes the event exceed 6 MB
    response = gw.http.post("/shop/dev/items", content=body, headers={"content-type": "application/octet-stream"})
    assert response.status_code == 413


def test_api_changes_are_picked_up(gw: Gateway) -> None:
    gw.catalog.set_api(api("temp", [RouteSpec("GET", "/v1", "show")]))
    try:
        assert gw.http.get("/temp/$default/v1").status_code == 200
        gw.catalog.set_api(api("temp", [RouteSpec("GET", "/v2", "show")]))
        assert gw.http.get("/temp/$default/v1").status_code == 404
        assert gw.http.get("/temp/$default/v2").status_code == 200
        gw.catalog.remove_api("temp")
        assert gw.http.get("/temp/$default/v2").status_code == 404
    finally:
        gw.catalog.remove_api("temp")


def test_unexpected_error_is_a_plain_500(gw: Gateway) -> None:
    gw.catalog.set_function(function("crash"))
    gw.provider.handlers["crash"] = crashes
    gw.catalog.set_api(api("boom", [RouteSpec("GET", "/", "crash")]))
    try:
        response = gw.http.get("/boom/$default/")
        assert response.status_code == 500
        assert response.json() == {"message": "Internal Server Error"}
    finally:
        gw.catalog.remove_api("boom")


def test_trace_header_is_passed_on(gw: Gateway) -> None:
    gw.http.get("/shop/dev/items/1", headers={"X-Amzn-Trace-Id": "Root=1-abc"})
    assert gw.provider.invocations[-1].trace_id == "Root=1-abc"
