"""The Lambda Invoke API over real HTTP with a real boto3 client."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
import signing
from botocore.config import Config
from gateway_fakes import InProcessProvider, crashes, echo, function, returns
from gateway_server import ThreadedServer
from signing import TEST_KEY, make_authenticator

from kumo.catalog import Catalog
from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, error_payload
from kumo_gateway.app import create_app

ARN = "arn:aws:lambda:us-east-1:000000000000:function"


@dataclass
class Gateway:
    url: str
    catalog: Catalog
    provider: InProcessProvider
    client: Any


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    catalog = Catalog()
    handlers = {
        "echo": echo,
        "fails": returns(error_payload("ValueError", "boom", ["line 1"]), function_error="Unhandled"),
        "huge": returns(b'"' + b"x" * MAX_SYNC_PAYLOAD + b'"'),
        "crash": crashes,
        "busy": echo,
        "cold": echo,
        "ghost": echo,
    }
    for name in handlers:
        catalog.set_function(function(name))
    catalog.set_function(function("unprovided"))
    provider = InProcessProvider(handlers)
    provider.throttled.add("busy")
    provider.unavailable.add("cold")
    provider.handlers.pop("ghost")  # in the catalog, unknown to the provider
    server = ThreadedServer(create_app(catalog, provider, auth=make_authenticator()))
    server.start()
    try:
        client = boto3.client(
            "lambda",
            endpoint_url=server.base_url,
            region_name="us-east-1",
            aws_access_key_id=TEST_KEY.access_key_id,
            aws_secret_access_key=TEST_KEY.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
        )
        yield Gateway(server.base_url, catalog, provider, client)
    finally:
        server.stop()
    assert provider.started and provider.stopped


def test_healthz(gw: Gateway) -> None:
    response = httpx.get(f"{gw.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_invoke_returns_payload_and_headers(gw: Gateway) -> None:
    result = gw.client.invoke(FunctionName="echo", Payload=json.dumps({"a": 1}))
    assert result["StatusCode"] == 200
    assert result["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in result
    assert "LogResult" not in result
    body = json.loads(result["Payload"].read())
    assert body["event"] == {"a": 1}
    assert body["arn"] == f"{ARN}:echo"
    headers = result["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-requestid"] == result["ResponseMetadata"]["RequestId"]
    assert headers["content-type"] == "application/json"


def test_empty_payload_is_an_empty_object(gw: Gateway) -> None:
    result = gw.client.invoke(FunctionName="echo")
    assert json.loads(result["Payload"].read())["event"] == {}


@pytest.mark.parametrize(
    ("name", "qualifier", "arn"),
    [
        (f"{ARN}:echo", None, f"{ARN}:echo"),
        ("000000000000:function:echo", None, f"{ARN}:echo"),
        ("echo:$LATEST", None, f"{ARN}:echo:$LATEST"),
        ("echo", "$LATEST", f"{ARN}:echo:$LATEST"),
        (f"{ARN}:echo:$LATEST", "$LATEST", f"{ARN}:echo:$LATEST"),
    ],
)
def test_function_name_forms(gw: Gateway, name: str, qualifier: str | None, arn: str) -> None:
    kwargs = {"Qualifier": qualifier} if qualifier else {}
    result = gw.client.invoke(FunctionName=name, Payload=b"{}", **kwargs)
    assert result["StatusCode"] == 200
    assert json.loads(result["Payload"].read())["arn"] == arn


def test_unknown_qualifier_is_not_found(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.ResourceNotFoundException) as info:
        gw.client.invoke(FunctionName="echo", Qualifier="prod", Payload=b"{}")
    assert f"{ARN}:echo:prod" in info.value.response["Error"]["Message"]


def test_conflicting_qualifiers_are_rejected(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.InvalidParameterValueException):
        gw.client.invoke(FunctionName="echo:$LATEST", Qualifier="prod", Payload=b"{}")


def test_invalid_function_name_is_a_validation_error(gw: Gateway) -> None:
    response = httpx.post(f"{gw.url}/2015-03-31/functions/bad%20name/invocations", content=b"{}", auth=signing.auth())
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"
    assert "functionName" in response.json()["message"]


def test_dry_run(gw: Gateway) -> None:
    before = len(gw.provider.invocations)
    result = gw.client.invoke(FunctionName="echo", InvocationType="DryRun")
    assert result["StatusCode"] == 204
    assert len(gw.provider.invocations) == before
    with pytest.raises(gw.client.exceptions.ResourceNotFoundException):
        gw.client.invoke(FunctionName="nope", InvocationType="DryRun")


def test_event_invocation_needs_redis(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.InvalidParameterValueException) as info:
        gw.client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
    assert "needs the platform's Redis" in info.value.response["Error"]["Message"]


def test_bad_invocation_type_header(gw: Gateway) -> None:
    response = httpx.post(
        f"{gw.url}/2015-03-31/functions/echo/invocations",
        content=b"{}",
        headers={"X-Amz-Invocation-Type": "Later"},
        auth=signing.auth(),
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"


def test_tail_log(gw: Gateway) -> None:
    result = gw.client.invoke(FunctionName="echo", LogType="Tail", Payload=b"{}")
    assert base64.b64decode(result["LogResult"]) == b"START\nhello\nEND\n"
    assert json.loads(gw.provider.invocations[-1].payload) == {}
    assert gw.provider.invocations[-1].log_tail is True


def test_tail_log_is_cut_to_4_kb(gw: Gateway) -> None:
    result = gw.client.invoke(FunctionName="fails", LogType="Tail", Payload=b"{}")
    log = base64.b64decode(result["LogResult"])
    assert len(log) == 4096
    assert log.endswith(b"tail-end")


def test_function_error(gw: Gateway) -> None:
    result = gw.client.invoke(FunctionName="fails", Payload=b"{}")
    assert result["StatusCode"] == 200
    assert result["FunctionError"] == "Unhandled"
    assert json.loads(result["Payload"].read()) == {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "stackTrace": ["line 1"],
    }


def test_oversized_response_becomes_function_error(gw: Gateway) -> None:
    result = gw.client.invoke(FunctionName="huge", Payload=b"{}")
    assert result["FunctionError"] == "Unhandled"
    assert json.loads(result["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


def test_unknown_function(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.ResourceNotFoundException) as info:
        gw.client.invoke(FunctionName="nope", Payload=b"{}")
    error = info.value.response
    assert error["Error"]["Message"] == f"Function not found: {ARN}:nope"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Type"] == "User"


def test_function_unknown_to_provider_is_not_found(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.ResourceNotFoundException):
        gw.client.invoke(FunctionName="ghost", Payload=b"{}")


def test_payload_too_large(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.RequestTooLargeException) as info:
        gw.client.invoke(FunctionName="echo", Payload=b"1" * (MAX_SYNC_PAYLOAD + 1))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_payload_at_the_limit_is_accepted(gw: Gateway) -> None:
    payload = b'"' + b"y" * (MAX_SYNC_PAYLOAD - 2) + b'"'
    result = gw.client.invoke(FunctionName="echo", Payload=payload)
    assert result["StatusCode"] == 200
    assert gw.provider.invocations[-1].payload == payload
    # echo wraps the payload, so its answer exceeds the response limit in turn
    assert result["FunctionError"] == "Unhandled"


def test_chunked_payload_too_large(gw: Gateway) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(7):
            yield b"1" * (1024 * 1024)

    response = httpx.post(
        f"{gw.url}/2015-03-31/functions/echo/invocations", content=chunks()
    )  # refused by size, before auth
    assert response.status_code == 413
    assert response.headers["x-amzn-errortype"] == "RequestTooLargeException"


def test_invalid_json(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.InvalidRequestContentException) as info:
        gw.client.invoke(FunctionName="echo", Payload=b"{not json")
    assert info.value.response["Error"]["Message"].startswith("Could not parse request body into json")


def test_client_context(gw: Gateway) -> None:
    context = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()
    result = gw.client.invoke(FunctionName="echo", ClientContext=context, Payload=b"{}")
    assert json.loads(result["Payload"].read())["clientContext"] == context


@pytest.mark.parametrize("context", ["not base64!", base64.b64encode(b"[1]").decode(), "A" * 3584])
def test_bad_client_context(gw: Gateway, context: str) -> None:
    with pytest.raises(gw.client.exceptions.InvalidRequestContentException):
        gw.client.invoke(FunctionName="echo", ClientContext=context, Payload=b"{}")


def test_throttled(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.TooManyRequestsException) as info:
        gw.client.invoke(FunctionName="busy", Payload=b"{}")
    error = info.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert error["retryAfterSeconds"] == "2"


def test_instance_unavailable(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.ServiceException) as info:
        gw.client.invoke(FunctionName="cold", Payload=b"{}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_unexpected_error_is_a_service_exception(gw: Gateway) -> None:
    with pytest.raises(gw.client.exceptions.ServiceException) as info:
        gw.client.invoke(FunctionName="crash", Payload=b"{}")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "Traceback" not in info.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/2015-03-31/functions/echo/invocations"), ("POST", "/2015-03-31/functions/echo/nope")],
)
def test_unknown_lambda_operation(gw: Gateway, method: str, path: str) -> None:
    response = httpx.request(method, f"{gw.url}{path}", auth=signing.auth())
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert "detail" not in response.json()
