"""Lambda authorizers over real HTTP with a real Redis: allow, deny, missing identity, context in the
target's event (both payload formats), the shared cache (a second request does not invoke the
authorizer; two gateway apps on one Redis share it), ttl 0, and failing authorizers (500, no trace)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio
from gateway_fakes import InProcessProvider, function
from gateway_server import ThreadedServer
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo.models import Api
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo_gateway.app import create_app

ALLOW_TOKEN, DENY_TOKEN = "let-me-in", "keep-out"


def show(invocation: Invocation) -> InvocationResult:
    body = json.dumps({"event": json.loads(invocation.payload)})
    return InvocationResult(json.dumps({"statusCode": 200, "body": body}).encode())


def simple_authorizer(invocation: Invocation) -> InvocationResult:
    event = json.loads(invocation.payload)
    allowed = event["identitySource"] == [ALLOW_TOKEN]
    context = {"user": "u-1", "route": event["routeKey"], "type": event["type"]}
    return InvocationResult(json.dumps({"isAuthorized": allowed, "context": context}).encode())


def policy_authorizer(invocation: Invocation) -> InvocationResult:
    event = json.loads(invocation.payload)
    effect = "Allow" if event["authorizationToken"] == ALLOW_TOKEN else "Deny"
    arn = event["methodArn"].rsplit("/", 2)[0] + "/GET/*"  # every GET route of the stage
    document = {"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": effect,
                                                        "Resource": arn}]}  # fmt: skip
    answer = {"principalId": "p-1", "policyDocument": document, "context": {"tenant": "t-9", "n": 3}}
    return InvocationResult(json.dumps(answer).encode())


def garbage(invocation: Invocation) -> InvocationResult:
    return InvocationResult(b"<html>nope")


def failing(invocation: Invocation) -> InvocationResult:
    return InvocationResult(b'{"errorMessage": "boom"}', function_error="Unhandled")


def authz_api(name: str, payload_format: str) -> Api:
    header = ["$request.header.Authorization"]
    spec = {
        "payloadFormat": payload_format,
        "authorizers": {
            "simple": {"type": "function", "function": "simple-authz", "identitySource": header,
                       "enableSimpleResponses": True, "ttl": 300},
            "policy": {"type": "function", "function": "policy-authz", "identitySource": header,
                       "payloadFormat": "1.0", "ttl": "60s"},
            "uncached": {"type": "function", "function": "simple-authz", "identitySource": header,
                         "enableSimpleResponses": True, "ttl": 0},
            "by-query": {"type": "function", "function": "simple-authz", "enableSimpleResponses": True,
                         "identitySource": ["$request.querystring.token", "$request.header.X-Tenant"]},
            "garbage": {"type": "function", "function": "garbage", "identitySource": header},
            "failing": {"type": "function", "function": "failing", "identitySource": header},
            "missing": {"type": "function", "function": "not-there", "identitySource": header},
        },
        "routes": [
            {"method": "GET", "path": "/simple", "function": "show", "authorizer": "simple"},
            {"method": "GET", "path": "/policy", "function": "show", "authorizer": "policy"},
            {"method": "POST", "path": "/policy", "function": "show", "authorizer": "policy"},
            {"method": "GET", "path": "/uncached", "function": "show", "authorizer": "uncached"},
            {"method": "GET", "path": "/query", "function": "show", "authorizer": "by-query"},
            {"method": "GET", "path": "/garbage", "function": "show", "authorizer": "garbage"},
            {"method": "GET", "path": "/failing", "function": "show", "authorizer": "failing"},
            {"method": "GET", "path": "/missing", "function": "show", "authorizer": "missing"},
        ],
    }  # fmt: skip
    return Api.model_validate({"metadata": {"name": name}, "spec": spec})


@dataclass
class Gateways:
    urls: list[str]
    provider: InProcessProvider
    http: httpx.Client
    redis_url: str

    @property
    def redis_keys(self) -> list[bytes]:
        import redis as sync_redis

        return list(sync_redis.Redis.from_url(self.redis_url).scan_iter("kumo:authz:*"))

    def calls(self, function_name: str) -> int:
        arn_suffix = f":function:{function_name}"
        return sum(1 for i in self.provider.invocations if i.invoked_function_arn.endswith(arn_suffix))

    def get(self, path: str, token: str | None = None, gateway: int = 0, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": token} if token is not None else {}
        method = kwargs.pop("method", "GET")
        url = f"{self.urls[gateway]}{path}"
        return self.http.request(method, url, headers=headers | kwargs.pop("headers", {}), **kwargs)


@pytest.fixture
def gws(redis_url: str) -> Iterator[Gateways]:
    """Two gateway apps sharing one provider (to count invocations) and one Redis."""
    catalog = Catalog()
    for name in ("show", "simple-authz", "policy-authz", "garbage", "failing"):
        catalog.set_function(function(name))  # type: ignore[arg-type]
    catalog.set_api(authz_api("v2", "2.0"))
    catalog.set_api(authz_api("v1", "1.0"))
    provider = InProcessProvider(
        {"show": show, "simple-authz": simple_authorizer, "policy-authz": policy_authorizer,
         "garbage": garbage, "failing": failing}
    )  # fmt: skip
    servers = [
        ThreadedServer(
            create_app(catalog, provider, auth=make_authenticator(), redis=redis.asyncio.Redis.from_url(redis_url))
        )
    ]
    servers.append(
        ThreadedServer(
            create_app(catalog, provider, auth=make_authenticator(), redis=redis.asyncio.Redis.from_url(redis_url))
        )
    )
    for server in servers:
        server.start()
    try:
        with httpx.Client(timeout=15) as http:
            yield Gateways([s.base_url for s in servers], provider, http, redis_url)
    finally:
        for server in servers:
            server.stop()


def event_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_simple_allow_context_in_event_and_cache(gws: Gateways) -> None:
    event = event_of(gws.get("/v2/$default/simple", ALLOW_TOKEN))
    assert event["requestContext"]["authorizer"] == {
        "lambda": {"user": "u-1", "route": "GET /simple", "type": "REQUEST"}
    }
    assert gws.calls("simple-authz") == 1
    assert gws.get("/v2/$default/simple", ALLOW_TOKEN).status_code == 200
    assert gws.get("/v2/$default/simple", ALLOW_TOKEN, gateway=1).status_code == 200  # other replica
    assert gws.calls("simple-authz") == 1  # cached in Redis, shared by both apps
    assert gws.calls("show") == 3
    assert gws.redis_keys and all(ALLOW_TOKEN.encode() not in key for key in gws.redis_keys)  # hashed identity


def test_simple_deny_is_403_and_cached(gws: Gateways) -> None:
    for _ in range(2):
        response = gws.get("/v2/$default/simple", DENY_TOKEN)
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    assert gws.calls("simple-authz") == 1 and gws.calls("show") == 0


def test_missing_identity_is_401_without_invoking(gws: Gateways) -> None:
    response = gws.get("/v2/$default/simple")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    response = gws.get("/v2/$default/query", params={"token": ALLOW_TOKEN})  # X-Tenant missing
    assert response.status_code == 401
    assert gws.calls("simple-authz") == 0
    ok = gws.get("/v2/$default/query", params={"token": "a"}, headers={"x-tenant": "t"})
    assert ok.status_code == 403  # identity ["a", "t"] is not the allowed one: invoked, denied
    assert gws.calls("simple-authz") == 1


def test_ttl_zero_calls_every_time(gws: Gateways) -> None:
    for _ in range(3):
        assert gws.get("/v2/$default/uncached", ALLOW_TOKEN).status_code == 200
    assert gws.calls("simple-authz") == 3


def test_policy_response_payload_1_context_and_cached_policy(gws: Gateways) -> None:
    event = event_of(gws.get("/v1/$default/policy", ALLOW_TOKEN))
    assert event["requestContext"]["authorizer"] == {"tenant": "t-9", "n": 3, "principalId": "p-1"}
    event = event_of(gws.get("/v2/$default/policy", ALLOW_TOKEN))
    assert event["requestContext"]["authorizer"] == {"lambda": {"tenant": "t-9", "n": 3}}
    calls = gws.calls("policy-authz")
    # the cached policy allows GET routes only: POST is refused from the cache
    response = gws.get("/v1/$default/policy", ALLOW_TOKEN, method="POST")
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    assert gws.calls("policy-authz") == calls
    assert gws.get("/v1/$default/policy", DENY_TOKEN).status_code == 403


@pytest.mark.parametrize("path", ["/garbage", "/failing", "/missing"])
def test_failing_authorizer_is_500_not_a_trace(gws: Gateways, path: str) -> None:
    response = gws.get(f"/v2/$default{path}", ALLOW_TOKEN)
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    assert gws.calls("show") == 0


def test_cache_without_redis_is_in_process() -> None:
    catalog = Catalog()
    for name in ("show", "simple-authz"):
        catalog.set_function(function(name))  # type: ignore[arg-type]
    catalog.set_api(authz_api("v2", "2.0"))
    provider = InProcessProvider({"show": show, "simple-authz": simple_authorizer})
    server = ThreadedServer(create_app(catalog, provider, auth=make_authenticator()))
    server.start()
    try:
        for _ in range(3):
            response = httpx.get(f"{server.base_url}/v2/$default/simple", headers={"authorization": ALLOW_TOKEN})
            assert response.status_code == 200
        calls = [i for i in provider.invocations if i.invoked_function_arn.endswith(":simple-authz")]
        assert len(calls) == 1
    finally:
        server.stop()
