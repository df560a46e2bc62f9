"""Payload format 1.0 response mapping: statusCode, merged headers, cookies, bodies, 502s."""

from __future__ import annotations

import base64
import json

import pytest

from kumo_gateway.apigateway.response_v1 import map_result, merge_headers

BAD_GATEWAY = (502, {"message": "Internal server error"})


def mapped(result: object, function_error: str | None = None):
    return map_result(json.dumps(result).encode(), function_error)


def test_full_response() -> None:
    response = mapped(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/html", "X-Single": "1"},
            "multiValueHeaders": {"X-Multi": ["a", "b"]},
            "body": "<p>made</p>",
            "isBase64Encoded": False,
        }
    )
    assert response.status == 201
    assert response.body == b"<p>made</p>"
    assert response.headers == [("x-multi", "a"), ("x-multi", "b"), ("content-type", "text/html"), ("x-single", "1")]


def test_cookies_as_multi_value_set_cookie() -> None:
    response = mapped(
        {
            "statusCode": 200,
            "multiValueHeaders": {"Set-Cookie": ["session=abc; HttpOnly", "theme=dark"]},
            "body": "",
        }
    )
    assert [value for name, value in response.headers if name == "set-cookie"] == [
        "session=abc; HttpOnly",
        "theme=dark",
    ]
    assert response.body == b""
    assert all(name != "content-type" for name, _ in response.headers)


@pytest.mark.parametrize(
    ("headers", "multi", "expected"),
    [
        # Same name and value in both: listed once (multiValueHeaders wins).
        ({"X-A": "1"}, {"x-a": ["1", "2"]}, [("x-a", "1"), ("x-a", "2")]),
        # Same name, a new value in headers: added to the list.
        ({"X-A": "3"}, {"X-A": ["1"]}, [("x-a", "1"), ("x-a", "3")]),
        ({"X-Num": 5, "X-Bool": True}, None, [("x-num", "5"), ("x-bool", "true")]),
        (None, {"X-Num": [1, 2.5]}, [("x-num", "1"), ("x-num", "2.5")]),
        ({"X-None": None}, {"X-Empty": None}, []),
        ({"Content-Length": "99", "Connection": "close"}, {"Transfer-Encoding": ["chunked"]}, []),
    ],
)
def test_merge_headers(headers: object, multi: object, expected: list[tuple[str, str]]) -> None:
    assert merge_headers(headers, multi) == expected


def test_base64_body() -> None:
    data = bytes(range(256))
    response = mapped(
        {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(data).decode(),
            "isBase64Encoded": True,
        }
    )
    assert (response.status, response.body) == (200, data)
    assert response.headers == [("content-type", "image/png")]


def test_default_content_type_is_json() -> None:
    response = mapped({"statusCode": 200, "body": '{"ok": true}'})
    assert response.headers == [("content-type", "application/json")]
    assert mapped({"statusCode": 204}).headers == []
    assert mapped({"statusCode": 204}).body == b""


@pytest.mark.parametrize("status", [200, "200", "404"])
def test_status_code_number_or_digits(status: object) -> None:
    assert mapped({"statusCode": status}).status == int(status)


def test_function_error_is_500() -> None:
    response = map_result(b'{"errorMessage": "boom"}', "Unhandled")
    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"<html>not json",
        b"null",
        b'"just a string"',
        b"[1, 2]",
        b'{"body": "no status"}',
        b'{"statusCode": "abc"}',
        b'{"statusCode": 99}',
        b'{"statusCode": 600}',
        b'{"statusCode": true}',
        b'{"statusCode": 200.5}',
        b'{"statusCode": 200, "body": {"an": "object"}}',
        b'{"statusCode": 200, "body": 5}',
        b'{"statusCode": 200, "headers": ["x"]}',
        b'{"statusCode": 200, "headers": {"x": {"nested": 1}}}',
        b'{"statusCode": 200, "headers": {"x": ["a", "b"]}}',
        b'{"statusCode": 200, "multiValueHeaders": {"x": "not a list"}}',
        b'{"statusCode": 200, "multiValueHeaders": ["x"]}',
        b'{"statusCode": 200, "multiValueHeaders": {"x": [{"a": 1}]}}',
        b'{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}',
        b'{"statusCode": 200, "body": "", "isBase64Encoded": "yes"}',
    ],
)
def test_malformed_results_are_502(payload: bytes) -> None:
    response = map_result(payload, None)
    assert (response.status, json.loads(response.body)) == BAD_GATEWAY
    assert response.headers == [("content-type", "application/json")]
