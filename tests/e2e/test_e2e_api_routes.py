"""Api routes through the gateway: payload format 2.0 events and API Gateway's response mapping."""

from __future__ import annotations

import base64
import json

import httpx


def test_path_and_query_parameters(kumo):
    response = httpx.get(f"{kumo.url}/shop/dev/items/42?color=red&color=blue&size=L", headers={"X-Test": "1"})
    assert response.status_code == 200
    event = response.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"color": "red,blue", "size": "L"}
    assert event["rawQueryString"] == "color=red&color=blue&size=L"
    assert event["headers"]["x-test"] == "1"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "dev"
    assert event["stageVariables"] == {"tier": "gold"}
    assert event["isBase64Encoded"] is False


def test_post_body(kumo):
    response = httpx.post(f"{kumo.url}/shop/dev/items", json={"name": "hat"})
    assert response.status_code == 200
    event = response.json()
    assert event["routeKey"] == "POST /items"
    assert json.loads(event["body"]) == {"name": "hat"}


def test_binary_body_is_base64(kumo):
    data = bytes(range(256))
    response = httpx.put(
        f"{kumo.url}/shop/dev/files/a/b.bin", content=data, headers={"content-type": "application/octet-stream"}
    )
    event = response.json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    assert event["pathParameters"] == {"proxy": "a/b.bin"}


def test_custom_response_mapping(kumo):
    response = httpx.get(f"{kumo.url}/shop/dev/custom")
    assert response.status_code == 201
    assert response.headers["x-custom"] == "yes"
    assert response.text == "created"
    assert sorted(response.headers.get_list("set-cookie")) == ["a=1", "b=2"]


def test_malformed_result_is_502(kumo):
    response = httpx.get(f"{kumo.url}/shop/dev/malformed")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_function_error_is_500(kumo):
    response = httpx.get(f"{kumo.url}/shop/dev/broken")
    assert response.status_code == 500
    assert response.json()["message"].lower() == "internal server error"


def test_no_route_is_404(kumo):
    for path in ("/shop/dev/nothing", "/shop/prod/items/1", "/nope/dev/items/1"):
        response = httpx.get(kumo.url + path)
        assert response.status_code == 404, path
        assert response.json() == {"message": "Not Found"}
    # Method mismatch on an existing path is "no route" as well.
    assert httpx.delete(f"{kumo.url}/shop/dev/items/1").status_code == 404
