"""JWT authorizers over real HTTP: real RSA/EC keys, a JWKS served on 127.0.0.1, HS256 from a secret.

Valid tokens reach the function with their claims (payload formats 2.0 and 1.0); forged, expired,
not-yet-valid, wrong-issuer, wrong-audience tokens get 403 ``{"message":"Forbidden"}``; no token 401.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from authz_support import AUDIENCE, HS_SECRET, ISSUER, JwksServer, Keys, es256, hs256, jwks_server, rs256
from gateway_fakes import InProcessProvider, function
from gateway_server import ThreadedServer
from signing import make_authenticator

from kumo.catalog import Catalog
from kumo.models import Api
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo_gateway.apigateway.authorizers.secrets import LocalSecrets, env_name
from kumo_gateway.app import create_app

FORBIDDEN = {"message": "Forbidden"}
UNAUTHORIZED = {"message": "Unauthorized"}


def show(invocation: Invocation) -> InvocationResult:
    """A proxy response (valid in both payload formats) whose body is the event."""
    body = json.dumps({"event": json.loads(invocation.payload)})
    return InvocationResult(json.dumps({"statusCode": 200, "body": body}).encode())


def jwt_api(name: str, payload_format: str, jwks_uri: str, inline_keys: list[dict[str, Any]]) -> Api:
    base = {"type": "jwt", "issuer": ISSUER, "audience": [AUDIENCE, "other"]}
    spec = {
        "payloadFormat": payload_format,
        "authorizers": {
            "users": base | {"jwks": {"uri": jwks_uri}},
            "offline": base | {"jwks": {"keys": inline_keys}},
            "partners": base | {"secretRef": {"name": "partners-jwt", "key": "secret"}},
            "missing-secret": base | {"secretRef": {"name": "nope", "key": "secret"}},
            "by-query": base | {"jwks": {"uri": jwks_uri}, "identitySource": ["$request.querystring.token"]},
        },
        "routes": [
            {"method": "GET", "path": "/users", "function": "echo", "authorizer": "users"},
            {"method": "GET", "path": "/offline", "function": "echo", "authorizer": "offline"},
            {"method": "GET", "path": "/partners", "function": "echo", "authorizer": "partners"},
            {"method": "GET", "path": "/broken", "function": "echo", "authorizer": "missing-secret"},
            {"method": "GET", "path": "/query", "function": "echo", "authorizer": "by-query"},
            {
                "method": "POST",
                "path": "/users",
                "function": "echo",
                "authorizer": "users",
                "authorizationScopes": ["pets/write", "pets/admin"],
            },
            {"method": "GET", "path": "/open", "function": "echo"},
        ],
    }
    return Api.model_validate({"metadata": {"name": name}, "spec": spec})


@dataclass
class Gateway:
    url: str
    keys: Keys
    jwks: JwksServer
    provider: InProcessProvider
    http: httpx.Client

    def call(self, path: str, token: str | None = None, api: str = "v2", **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token is not None else {}
        method = kwargs.pop("method", "GET")
        return self.http.request(method, f"{self.url}/{api}/$default{path}", headers=headers, **kwargs)


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    keys = Keys()
    with jwks_server(keys.jwks()) as jwks:
        catalog = Catalog()
        catalog.set_function(function("echo"))  # type: ignore[arg-type]
        inline = keys.jwks()["keys"]
        catalog.set_api(jwt_api("v2", "2.0", jwks.url, inline))
        catalog.set_api(jwt_api("v1", "1.0", jwks.url, inline))
        provider = InProcessProvider({"echo": show})
        secrets = LocalSecrets(environ={env_name("partners-jwt", "secret"): HS_SECRET})
        server = ThreadedServer(create_app(catalog, provider, auth=make_authenticator(), secrets=secrets))
        server.start()
        try:
            with httpx.Client(timeout=10) as http:
                yield Gateway(server.base_url, keys, jwks, provider, http)
        finally:
            server.stop()


def event_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_rs256_token_served_with_claims_v2(gw: Gateway) -> None:
    event = event_of(gw.call("/users", rs256(gw.keys, groups=["a", "b"])))
    authorizer = event["requestContext"]["authorizer"]["jwt"]
    assert authorizer["claims"]["sub"] == "user-1"
    assert authorizer["claims"]["iss"] == ISSUER
    assert authorizer["claims"]["groups"] == "[a b]"
    assert authorizer["claims"]["exp"].isdigit()
    assert authorizer["scopes"] == ["pets/read"]


def test_es256_and_bare_token_without_bearer_prefix(gw: Gateway) -> None:
    token = es256(gw.keys, sub="ec-user")
    response = gw.http.get(f"{gw.url}/v2/$default/users", headers={"authorization": token})
    assert event_of(response)["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "ec-user"


def test_payload_format_1_claims(gw: Gateway) -> None:
    event = event_of(gw.call("/users", rs256(gw.keys, sub="v1-user"), api="v1"))
    assert event["requestContext"]["authorizer"]["claims"]["sub"] == "v1-user"
    assert event["requestContext"]["authorizer"]["scopes"] == ["pets/read"]


def test_hs256_from_secret_and_inline_keys(gw: Gateway) -> None:
    event = event_of(gw.call("/partners", hs256(sub="partner")))
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "partner"
    assert event_of(gw.call("/offline", rs256(gw.keys)))["requestContext"]["authorizer"]["jwt"]["claims"]["aud"]


def test_audience_list_and_client_id(gw: Gateway) -> None:
    assert gw.call("/users", rs256(gw.keys, aud=["x", "other"])).status_code == 200
    assert gw.call("/users", rs256(gw.keys, aud=None, client_id=AUDIENCE)).status_code == 200


def test_token_from_query_string_identity_source(gw: Gateway) -> None:
    assert gw.http.get(f"{gw.url}/v2/$default/query", params={"token": rs256(gw.keys)}).status_code == 200
    response = gw.call("/query", rs256(gw.keys))  # header given, query source empty
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def _tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def _alg_none(keys: Keys) -> str:
    return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": 4102444800}, None, algorithm="none")


def _hs256_with_public_key(keys: Keys) -> str:
    """The classic confusion: an HS256 token whose HMAC key is the RSA public key (PEM)."""
    import hashlib
    import hmac

    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT","kid":"r1"}').rstrip(b"=")
    body = json.dumps({"iss": ISSUER, "aud": AUDIENCE, "exp": 4102444800, "sub": "x"}).encode()
    payload = base64.urlsafe_b64encode(body).rstrip(b"=")
    signing = header + b"." + payload
    signature = base64.urlsafe_b64encode(hmac.new(keys.rsa_public_pem(), signing, hashlib.sha256).digest())
    return (signing + b"." + signature.rstrip(b"=")).decode()


@pytest.mark.parametrize(
    ("path", "make"),
    [
        ("/users", lambda k: rs256(k, key=k.other_rsa)),
        ("/users", lambda k: rs256(k, kid="unknown", key=k.other_rsa)),
        ("/users", lambda k: _tampered(rs256(k))),
        ("/users", _alg_none),
        ("/users", _hs256_with_public_key),
        ("/partners", lambda k: hs256(secret="another-secret-that-is-long-enough-for-hs256!")),
        ("/partners", lambda k: rs256(k)),
        ("/users", lambda k: rs256(k, exp=1000)),
        ("/users", lambda k: rs256(k, exp=None)),
        ("/users", lambda k: rs256(k, nbf=4102444800)),
        ("/users", lambda k: rs256(k, iss="https://evil.example")),
        ("/users", lambda k: rs256(k, aud="someone-else")),
        ("/users", lambda k: rs256(k, aud=None)),
        ("/users", lambda k: "not.a.jwt"),
        ("/users", lambda k: "garbage"),
    ],
    ids=[
        "other-key",
        "unknown-kid",
        "tampered",
        "alg-none",
        "hs256-public-key",
        "wrong-secret",
        "rs256-on-hs256",
        "expired",
        "no-exp",
        "not-yet-valid",
        "wrong-issuer",
        "wrong-audience",
        "no-audience",
        "not-a-jwt",
        "garbage",
    ],
)
def test_bad_tokens_forbidden(gw: Gateway, path: str, make: Any) -> None:
    before = len(gw.provider.invocations)
    response = gw.call(path, make(gw.keys))
    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert len(gw.provider.invocations) == before  # the function never ran


@pytest.mark.parametrize("headers", [{}, {"authorization": ""}, {"x-token": "abc"}])
def test_no_token_unauthorized(gw: Gateway, headers: dict[str, str]) -> None:
    response = gw.http.get(f"{gw.url}/v2/$default/users", headers=headers)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert response.headers["content-type"] == "application/json"


def test_scopes(gw: Gateway) -> None:
    denied = gw.call("/users", rs256(gw.keys), method="POST")  # has pets/read only
    assert (denied.status_code, denied.json()) == (403, FORBIDDEN)
    assert gw.call("/users", rs256(gw.keys, scope="pets/read pets/admin"), method="POST").status_code == 200
    assert gw.call("/users", rs256(gw.keys, scope=None, scp=["pets/write"]), method="POST").status_code == 200
    assert gw.call("/users", rs256(gw.keys, scope=None), method="POST").status_code == 403


def test_missing_secret_is_a_server_error_not_a_trace(gw: Gateway) -> None:
    response = gw.call("/broken", hs256())
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_route_without_authorizer_needs_nothing(gw: Gateway) -> None:
    assert "authorizer" not in event_of(gw.call("/open"))["requestContext"]


def test_jwks_fetched_once_and_refetch_bounded(gw: Gateway) -> None:
    for _ in range(3):
        assert gw.call("/users", rs256(gw.keys)).status_code == 200
    fetched = gw.jwks.fetches
    assert fetched >= 1
    for _ in range(5):  # unknown kids: at most one refetch per interval
        assert gw.call("/users", rs256(gw.keys, kid="made-up", key=gw.keys.other_rsa)).status_code == 403
    assert gw.jwks.fetches <= fetched + 1
