"""Payload format 2.0 event building, field by field."""

from __future__ import annotations

import base64
import json

import pytest

from kumo_gateway.apigateway.event_v2 import (
    HttpRequest,
    RequestContext,
    build_event,
    encode_body,
    format_request_time,
    is_text_content_type,
)

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
            ("Host", "localhost:8080"),
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


def test_full_event() -> None:
    event = build_event(request(), context())
    assert event == {
        "version": "2.0",
        "routeKey": "GET /items/{id}",
        "rawPath": "/dev/items/a%20b",
        "rawQueryString": "x=1&x=2&y=&z=a%20b",
        "cookies": ["a=1", "b=2", "c=3"],
        "headers": {"host": "localhost:8080", "user-agent": "curl/8", "x-multi": "one,two"},
        "queryStringParameters": {"x": "1,2", "y": "", "z": "a b"},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "shop",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": "GET",
                "path": "/dev/items/a%20b",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8",
            },
            "requestId": "req-1",
            "routeKey": "GET /items/{id}",
            "stage": "dev",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1584039838123,
        },
        "isBase64Encoded": False,
        "pathParameters": {"id": "a b"},
        "stageVariables": {"alias": "live"},
    }
    json.dumps(event)  # serialisable as is


def test_optional_fields_are_omitted() -> None:
    event = build_event(request(raw_query="", headers=[("host", "h")]), context(path_parameters={}, stage_variables={}))
    for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert key not in event
    assert event["isBase64Encoded"] is False


def test_domain_prefix_from_host() -> None:
    event = build_event(request(headers=[("host", "abc.execute-api.example.com")]), context())
    assert event["requestContext"]["domainName"] == "abc.execute-api.example.com"
    assert event["requestContext"]["domainPrefix"] == "abc"


def test_text_body_is_passed_as_text() -> None:
    event = build_event(
        request(method="POST", headers=[("content-type", "application/json")], body=b'{"k": "\xc3\xa9"}'), context()
    )
    assert event["body"] == '{"k": "é"}'
    assert event["isBase64Encoded"] is False


def test_binary_body_is_base64() -> None:
    data = bytes(range(256))
    event = build_event(request(method="POST", headers=[("content-type", "image/png")], body=data), context())
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain", True),
        ("text/html; charset=utf-8", True),
        ("application/json", True),
        ("application/vnd.api+json", True),
        ("application/xml", True),
        ("application/soap+xml", True),
        ("APPLICATION/JSON", True),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    assert is_text_content_type(content_type) is text


def test_encode_body_rules() -> None:
    assert encode_body(b"plain", None) == ("plain", False)
    assert encode_body(b"\xff\xfe", None) == (base64.b64encode(b"\xff\xfe").decode(), True)
    assert encode_body(b"\xff", "text/plain") == ("/w==", True)
    assert encode_body(b"a=1", "application/x-www-form-urlencoded") == ("YT0x", True)


def test_request_time_format() -> None:
    assert format_request_time(0) == "01/Jan/1970:00:00:00 +0000"
    assert format_request_time(EPOCH) == "12/Mar/2020:19:03:58 +0000"
