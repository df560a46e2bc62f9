"""Payload format 1.0 through ``kumo up``: the REST API proxy event a real function receives, response
mapping (multi-value headers, cookies, binary bodies, 502s) and ``binaryMediaTypes`` for both formats."""

from __future__ import annotations

import base64
import json

import httpx

MULTI = [("X-Multi", "one"), ("X-Multi", "two"), ("Cookie", "a=1; b=2")]


def echoed(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_event_fields(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/items/42?tag=a&tag=b&size=L", headers=MULTI)
    event = echoed(response)
    assert event["version"] == "1.0"
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/dev/items/42", "GET")
    assert event["headers"]["x-multi"] == "two"
    assert event["multiValueHeaders"]["x-multi"] == ["one", "two"]
    assert event["headers"]["cookie"] == "a=1; b=2"
    assert "cookies" not in event
    assert event["queryStringParameters"] == {"tag": "b", "size": "L"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "size": ["L"]}
    assert event["pathParameters"] == {"id": "42"}
    assert event["stageVariables"] == {"tier": "gold"}
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert context["requestId"] == context["extendedRequestId"] == response.headers["apigw-requestid"]
    assert (context["apiId"], context["stage"], context["accountId"]) == ("rest", "dev", "000000000000")
    assert (context["resourceId"], context["resourcePath"]) == ("GET /items/{id}", "/items/{id}")
    assert (context["httpMethod"], context["path"], context["protocol"]) == ("GET", "/dev/items/42", "HTTP/1.1")
    assert context["domainName"] == "127.0.0.1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"].startswith("python-httpx/")
    assert context["identity"]["apiKey"] is None
    assert isinstance(context["requestTimeEpoch"], int)


def test_absent_query_is_null(formats_kumo):
    event = echoed(httpx.get(f"{formats_kumo.url}/rest/dev/items/1"))
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_json_body_is_text(formats_kumo):
    event = echoed(httpx.post(f"{formats_kumo.url}/rest/dev/items", json={"name": "hat"}))
    assert (event["resource"], event["httpMethod"]) == ("/items", "POST")
    assert json.loads(event["body"]) == {"name": "hat"}
    assert event["isBase64Encoded"] is False


def test_listed_binary_type_is_base64(formats_kumo):
    data = bytes(range(256))
    headers = {"content-type": "application/octet-stream"}
    event = echoed(httpx.put(f"{formats_kumo.url}/rest/dev/files/a/b.bin", content=data, headers=headers))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    assert event["pathParameters"] == {"proxy": "a/b.bin"}
    png = {"content-type": "image/png"}
    event = echoed(httpx.put(f"{formats_kumo.url}/rest/dev/files/pic", content=b"PNG", headers=png))
    assert (event["isBase64Encoded"], event["body"]) == (True, base64.b64encode(b"PNG").decode())


def test_unlisted_type_is_text_with_binary_media_types(formats_kumo):
    form = {"content-type": "application/x-www-form-urlencoded"}
    for url in (f"{formats_kumo.url}/rest/dev/files/form", f"{formats_kumo.url}/http/$default/files/form"):
        event = echoed(httpx.post(url, content=b"a=1&b=2", headers=form))
        assert (event["isBase64Encoded"], event["body"]) == (False, "a=1&b=2"), url


def test_binary_media_types_apply_to_payload_2_0(formats_kumo):
    url = f"{formats_kumo.url}/http/$default/files/x"
    event = echoed(httpx.post(url, content=b"hello", headers={"content-type": "application/x-kumo"}))
    assert event["version"] == "2.0"
    assert (event["isBase64Encoded"], event["body"]) == (True, base64.b64encode(b"hello").decode())


def test_multi_value_response_headers_and_cookies(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/cookies")
    assert response.status_code == 200
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert response.headers.get_list("x-multi") == ["x", "y"]
    assert response.headers["x-single"] == "one"
    assert response.content == b""


def test_binary_response(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/image")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == bytes(range(256))


def test_result_without_status_code_is_502_for_1_0_only(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/bare")
    assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})
    response = httpx.get(f"{formats_kumo.url}/http/$default/bare")
    assert (response.status_code, response.json()) == (200, {"no": "statusCode"})


def test_malformed_result_is_502(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/malformed")
    assert (response.status_code, response.json()) == (502, {"message": "Internal server error"})


def test_function_error_is_500(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/broken")
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_no_route_is_404(formats_kumo):
    response = httpx.get(f"{formats_kumo.url}/rest/dev/nothing/here")
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
