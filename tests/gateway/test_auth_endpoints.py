"""SigV4 and policies on the Lambda and DynamoDB endpoints of an in-process gateway, with real boto3."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import httpx
import pytest
import signing
from gateway_fakes import InProcessProvider, echo
from gateway_server import ThreadedServer
from signing import TEST_KEY

from kumo.access_keys import AccessKey
from kumo.catalog import Catalog
from kumo.models import Function
from kumo.policy import Policy
from kumo_gateway.app import create_app
from kumo_gateway.auth.authenticator import NO_AUTH

LIMITED = AccessKey(
    "KUMOLIMITED000000001",
    "limited-secret-limited-secret-limited-se",
    "limited",
    policy=Policy(("lambda:InvokeFunction", "dynamodb:GetItem"), ("function:echo", "table:orders")),
)
STRANGER = AccessKey("KUMOSTRANGER00000001", "x" * 40, "stranger")
FORGED = AccessKey(TEST_KEY.access_key_id, "y" * 40, "forged")


class EmptyTables:
    """A table directory with no tables (requests that pass authorization get ResourceNotFound)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def route(self, name: str) -> None:
        return None

    def description(self, name: str) -> None:
        return None

    def table_names(self) -> list[str]:
        return []


@dataclass
class Gateway:
    url: str


def _serve(auth: Any) -> Iterator[Gateway]:
    catalog = Catalog()
    for name in ("echo", "other"):
        catalog.set_function(
            Function.model_validate(
                {
                    "apiVersion": "kumo.dev/v1alpha1",
                    "kind": "Function",
                    "metadata": {"name": name},
                    "spec": {"runtime": "python3.11", "handler": "app.handler", "code": {"inline": {"app.py": ""}}},
                }
            )
        )
    server = ThreadedServer(
        create_app(catalog, InProcessProvider({"echo": echo, "other": echo}), auth=auth, tables=EmptyTables())  # type: ignore[arg-type]
    )
    server.start()
    try:
        yield Gateway(server.base_url)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    yield from _serve(signing.make_authenticator(LIMITED))


def error_code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def unsigned(service: str, url: str) -> Any:
    return signing.client(service, url, signature_version=botocore.UNSIGNED)


def test_signed_calls_are_served(gw: Gateway) -> None:
    lam = signing.client("lambda", gw.url)
    assert lam.invoke(FunctionName="echo", Payload=b'{"a": 1}')["StatusCode"] == 200
    assert {f["FunctionName"] for f in lam.list_functions()["Functions"]} == {"echo", "other"}
    assert signing.client("dynamodb", gw.url).list_tables()["TableNames"] == []


@pytest.mark.parametrize("service", ["lambda", "dynamodb"])
def test_unsigned_unknown_and_forged_calls_get_the_aws_error(gw: Gateway, service: str) -> None:
    def call(client: Any) -> Any:
        if service == "lambda":
            return lambda: client.invoke(FunctionName="echo", Payload=b"{}")
        return lambda: client.list_tables()

    assert error_code(call(unsigned(service, gw.url))) == "MissingAuthenticationTokenException"
    assert error_code(call(signing.client(service, gw.url, STRANGER))) == "UnrecognizedClientException"
    assert error_code(call(signing.client(service, gw.url, FORGED))) == "InvalidSignatureException"


def test_error_shapes_are_the_services(gw: Gateway) -> None:
    response = httpx.post(f"{gw.url}/2015-03-31/functions/echo/invocations", content=b"{}")
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert response.json()["message"] == "Missing Authentication Token"
    response = httpx.post(
        f"{gw.url}/",
        content=b"{}",
        headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
        auth=signing.auth("dynamodb", STRANGER),
    )
    assert response.status_code == 400
    assert response.json() == {
        "__type": "com.amazon.coral.service#UnrecognizedClientException",
        "message": "The security token included in the request is invalid.",
    }


def test_a_signature_for_another_body_is_refused(gw: Gateway) -> None:
    url = f"{gw.url}/2015-03-31/functions/echo/invocations"
    headers = signing.signed_headers_for("POST", url, b'{"amount": 1}')
    response = httpx.post(url, content=b'{"amount": 1000}', headers=headers)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert httpx.post(url, content=b'{"amount": 1}', headers=headers).status_code == 200


def test_presigned_url_is_accepted(gw: Gateway) -> None:
    url = signing.presigned_url("GET", f"{gw.url}/2015-03-31/functions/echo")
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    assert response.json()["Configuration"]["FunctionName"] == "echo"
    tampered = url.replace("/functions/echo", "/functions/other")
    assert httpx.get(tampered).headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_limited_key_gets_access_denied_elsewhere(gw: Gateway) -> None:
    lam = signing.client("lambda", gw.url, LIMITED)
    assert lam.invoke(FunctionName="echo", Payload=b"{}")["StatusCode"] == 200
    assert error_code(lambda: lam.invoke(FunctionName="other", Payload=b"{}")) == "AccessDeniedException"
    assert error_code(lambda: lam.get_function(FunctionName="echo")) == "AccessDeniedException"
    ddb = signing.client("dynamodb", gw.url, LIMITED)
    key = {"id": {"S": "1"}}
    # allowed: reaches the (empty) table directory
    assert error_code(lambda: ddb.get_item(TableName="orders", Key=key)) == "ResourceNotFoundException"
    assert error_code(lambda: ddb.get_item(TableName="users", Key=key)) == "AccessDeniedException"
    assert error_code(lambda: ddb.put_item(TableName="orders", Item=key)) == "AccessDeniedException"
    assert error_code(lambda: ddb.list_tables()) == "AccessDeniedException"


def test_streams_calls_are_signed_for_dynamodb_and_authorized_per_table(gw: Gateway) -> None:
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-01-01T00:00:00.000"
    limited = signing.client("dynamodbstreams", gw.url, LIMITED)  # may GetItem on orders, nothing else
    assert error_code(lambda: limited.describe_stream(StreamArn=arn)) == "AccessDeniedException"
    assert error_code(lambda: limited.list_streams()) == "AccessDeniedException"
    full = signing.client("dynamodbstreams", gw.url)
    assert error_code(lambda: full.describe_stream(StreamArn=arn)) == "ResourceNotFoundException"
    assert full.list_streams()["Streams"] == []
    assert (
        error_code(lambda: unsigned("dynamodbstreams", gw.url).list_streams()) == "MissingAuthenticationTokenException"
    )


def test_api_routes_stay_public(gw: Gateway) -> None:
    # No Api is defined: an unsigned request gets API Gateway's own 404, not an auth error.
    response = httpx.get(f"{gw.url}/shop/dev/items")
    assert response.status_code == 404
    assert "x-amzn-errortype" not in response.headers


def test_no_auth_is_an_explicit_choice() -> None:
    # This gateway is built with NO_AUTH on purpose: it serves unsigned calls.
    for gateway in _serve(NO_AUTH):
        assert unsigned("lambda", gateway.url).invoke(FunctionName="echo", Payload=b"{}")["StatusCode"] == 200
        assert unsigned("dynamodb", gateway.url).list_tables()["TableNames"] == []
