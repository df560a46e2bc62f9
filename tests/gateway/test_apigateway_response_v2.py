"""Payload format 2.0 result mapping: each rule, and every malformed shape -> 502."""

from __future__ import annotations

import base64
import json

import pytest

from kumo_gateway.apigateway.response_v2 import map_result


def mapped(result: object, function_error: str | None = None):
    payload = result if isinstance(result, bytes) else json.dumps(result).encode()
    return map_result(payload, function_error)


def test_structured_response() -> None:
    response = mapped(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/html", "X-Count": 3, "X-Flag": True, "Content-Length": "999"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "<p>hi</p>",
        }
    )
    assert response.status == 201
    assert response.body == b"<p>hi</p>"
    assert response.headers == [
        ("content-type", "text/html"),
        ("x-count", "3"),
        ("x-flag", "true"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2"),
    ]


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
    assert response.body == data


def test_missing_body_and_headers() -> None:
    response = mapped({"statusCode": 204})
    assert (response.status, response.body, response.headers) == (204, b"", [])


def test_body_without_content_type_gets_text_plain() -> None:
    response = mapped({"statusCode": 200, "body": "hello"})
    assert response.headers == [("content-type", "text/plain; charset=utf-8")]


@pytest.mark.parametrize("result", [{"message": "hi"}, ["a", 1], "just a string", 42, None])
def test_result_without_status_code_is_the_json_body(result: object) -> None:
    payload = json.dumps(result).encode()
    response = map_result(payload, None)
    assert response.status == 200
    assert response.body == payload
    assert response.headers == [("content-type", "application/json")]


def test_function_error_is_500() -> None:
    response = mapped({"errorMessage": "boom", "errorType": "ValueError"}, "Unhandled")
    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}


@pytest.mark.parametrize(
    "result",
    [
        b"not json",
        b"",
        {"statusCode": "200"},
        {"statusCode": 200.5},
        {"statusCode": True},
        {"statusCode": 99},
        {"statusCode": 200, "body": {"nested": 1}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "headers": {"x": {"y": 1}}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "not base64!!", "isBase64Encoded": True},
    ],
)
def test_malformed_is_502(result: object) -> None:
    response = mapped(result)
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}
