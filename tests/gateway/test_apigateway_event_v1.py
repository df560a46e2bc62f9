"""Payload format 1.0 (REST API proxy) event building, field by field."""

from __future__ import annotations

import base64

import pytest

from kumo_gateway.apigateway.event_v1 import build_event, multi_value_headers, multi_value_query, resource_path
from kumo_gateway.apigateway.event_v2 import HttpRequest, RequestContext

EPOCH = 1584039838.123  # 12/Mar/2020:19:03:58 UTC


def context(**overrides) -> RequestContext:
    values = {
        "account_id": "000000000000",
        "api_id": "shop",
        "stage": "dev",
        "route_key": "GET /items/{id}",
        "request_id": "req-1",
        "time_epoch_s": EPOCH,
        "path_parameters": {"id": "a b"},
        "stage_variables": {"alias": "live"},
    }
    values.update(overrides)
    return RequestContext(**values)


def request(**overrides) -> HttpRequest:
    values = {
        "method": "GET",
        "raw_path": "/dev/items/a%20b",
        "raw_query": "x=1&x=2&y=&z=a%20b",
        "headers": [
            ("Host", "shop.example.com:8080"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Cookie", "a=1; b=2"),
            ("cookie", "c=3"),
        ],
        "source_ip": "127.0.0.1",
    }
    values.update(overrides)
    return HttpRequest(**values)


IDENTITY_NULLS = {
    "accessKey": None,
    "accountId": None,
    "apiKey": None,
    "apiKeyId": None,
    "caller": None,
    "cognitoAmr": None,
    "cognitoAuthenticationProvider": None,
    "cognitoAuthenticationType": None,
    "cognitoIdentityId": None,
    "cognitoIdentityPoolId": None,
    "principalOrgId": None,
    "user": None,
    "userArn": None,
}


def test_full_event() -> None:
    event = build_event(request(), context())
    assert event == {
        "version": "1.0",
        "resource": "/items/{id}",
        "path": "/dev/items/a%20b",
        "httpMethod": "GET",
        "headers": {
            "Host": "shop.example.com:8080",
            "User-Agent": "curl/8",
            "X-Multi": "two",
            "Cookie": "c=3",
        },
        "multiValueHeaders": {
            "Host": ["shop.example.com:8080"],
            "User-Agent": ["curl/8"],
            "X-Multi": ["one", "two"],
            "Cookie": ["a=1; b=2", "c=3"],
        },
        "queryStringParameters": {"x": "2", "y": "", "z": "a b"},
        "multiValueQueryStringParameters": {"x": ["1", "2"], "y": [""], "z": ["a b"]},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "shop",
            "domainName": "shop.example.com",
            "domainPrefix": "shop",
            "extendedRequestId": "req-1",
            "httpMethod": "GET",
            "identity": {**IDENTITY_NULLS, "sourceIp": "127.0.0.1", "userAgent": "curl/8"},
            "path": "/dev/items/a%20b",
            "protocol": "HTTP/1.1",
            "requestId": "req-1",
            "requestTime": "12/Mar/2020:19:03:58 +0000",
            "requestTimeEpoch": 1584039838123,
            "resourceId": "GET /items/{id}",
            "resourcePath": "/items/{id}",
            "stage": "dev",
        },
        "pathParameters": {"id": "a b"},
        "stageVariables": {"alias": "live"},
        "body": None,
        "isBase64Encoded": False,
    }


def test_absent_parts_are_null() -> None:
    event = build_event(
        request(raw_query="", headers=[], raw_path="/"),
        context(stage="$default", route_key="$default", path_parameters={}, stage_variables={}),
    )
    for key in (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ):
        assert key in event and event[key] is None, key
    assert event["isBase64Encoded"] is False
    assert event["resource"] == "$default"
    assert event["path"] == "/"
    ctx = event["requestContext"]
    assert (ctx["resourceId"], ctx["resourcePath"], ctx["stage"]) == ("$default", "$default", "$default")
    assert (ctx["domainName"], ctx["domainPrefix"], ctx["identity"]["userAgent"]) == ("", "", "")


@pytest.mark.parametrize(
    ("route_key", "resource"),
    [
        ("GET /items/{id}", "/items/{id}"),
        ("ANY /files/{proxy+}", "/files/{proxy+}"),
        ("POST /", "/"),
        ("$default", "$default"),
    ],
)
def test_resource_is_the_route_path(route_key: str, resource: str) -> None:
    assert resource_path(route_key) == resource
    event = build_event(request(), context(route_key=route_key))
    assert event["resource"] == event["requestContext"]["resourcePath"] == resource
    assert event["requestContext"]["resourceId"] == route_key


def test_headers_last_value_wins_and_multi_keeps_all() -> None:
    headers, multi = multi_value_headers([("Accept", "a"), ("ACCEPT", "b"), ("x-one", "1"), ("accept", "c")])
    assert headers == {"Accept": "c", "x-one": "1"}
    assert multi == {"Accept": ["a", "b", "c"], "x-one": ["1"]}


def test_query_last_value_wins_and_multi_keeps_all() -> None:
    query, multi = multi_value_query("tag=a&tag=b&q=%C3%A9+x&empty=&tag=c")
    assert query == {"tag": "c", "q": "é x", "empty": ""}
    assert multi == {"tag": ["a", "b", "c"], "q": ["é x"], "empty": [""]}
    assert multi_value_query("") == ({}, {})


def test_text_body() -> None:
    event = build_event(
        request(method="POST", body=b'{"name": "hat"}', headers=[("Content-Type", "application/json")]), context()
    )
    assert event["body"] == '{"name": "hat"}'
    assert event["isBase64Encoded"] is False
    assert event["httpMethod"] == event["requestContext"]["httpMethod"] == "POST"


def test_binary_body_is_base64_by_default() -> None:
    data = bytes(range(256))
    event = build_event(request(body=data, headers=[("content-type", "application/octet-stream")]), context())
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data


def test_binary_media_types_decide_when_given() -> None:
    png = b"\x89PNG fake"
    listed = context(binary_media_types=("image/*",))
    event = build_event(request(body=png, headers=[("Content-Type", "image/png")]), listed)
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, png)
    # Not listed: passed as text although the default rule would base64 it.
    form = request(body=b"a=1&b=2", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    event = build_event(form, listed)
    assert (event["isBase64Encoded"], event["body"]) == (False, "a=1&b=2")
    # Without the list the same form body is base64 (the HTTP API rule).
    event = build_event(form, context())
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, b"a=1&b=2")


def test_ipv6_host_and_protocol() -> None:
    event = build_event(request(headers=[("host", "[::1]")], protocol="HTTP/2"), context())
    assert event["requestContext"]["domainName"] == "[::1]"
    assert event["requestContext"]["protocol"] == "HTTP/2"
