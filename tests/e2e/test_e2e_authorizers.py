"""Authorizers through ``kumo up``: a Lambda authorizer run by real function instances (decisions cached in
local mode's private Redis, context in the target's event), and an HS256 JWT authorizer whose secret
comes from ``KUMO_SECRET_<NAME>_<KEY>``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from kumo_up import KumoUp, function_manifest

# The authorizer counts its own invocations (per instance: one warm instance serves these sequential
# requests) and says so in its context, so a cached decision shows the count it was made with.
AUTHORIZER = """
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    token = (event.get("headers") or {}).get("authorization", "")
    return {"isAuthorized": token == "letmein", "context": {"calls": CALLS, "user": "ada"}}
"""

TARGET = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"""

SECRET = "a-32-byte-or-longer-hs256-secret-for-partners"


def api_manifest() -> dict:
    return {
        "apiVersion": "kumo.dev/v1alpha1",
        "kind": "Api",
        "metadata": {"name": "pets"},
        "spec": {
            "authorizers": {
                "cached": {"type": "function", "function": "authz", "enableSimpleResponses": True, "ttl": "300s"},
                "uncached": {"type": "function", "function": "authz", "enableSimpleResponses": True, "ttl": "0s"},
                "partners": {
                    "type": "jwt",
                    "issuer": "https://partners.example",
                    "audience": ["pets"],
                    "secretRef": {"name": "partners-jwt", "key": "secret"},
                },
            },
            "routes": [
                {"method": "GET", "path": "/cached", "function": "target", "authorizer": "cached"},
                {"method": "GET", "path": "/uncached", "function": "target", "authorizer": "uncached"},
                {"method": "GET", "path": "/partners", "function": "target", "authorizer": "partners"},
            ],
        },
    }


@pytest.fixture(scope="module")
def kumo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KumoUp]:
    manifests = [function_manifest("authz", AUTHORIZER), function_manifest("target", TARGET), api_manifest()]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KUMO_SECRET_PARTNERS_JWT_SECRET", SECRET)
        up = KumoUp(manifests, Path(tmp_path_factory.mktemp("authorizers")))
    try:
        yield up
    finally:
        up.stop()


def token(secret: str, **claims: object) -> str:
    now = int(time.time())
    body = {"iss": "https://partners.example", "aud": "pets", "sub": "p-1", "iat": now, "exp": now + 300}
    return jwt.encode({**body, **claims}, secret, algorithm="HS256")


def test_lambda_authorizer_decides_and_its_decision_is_cached(kumo: KumoUp) -> None:
    with httpx.Client(base_url=kumo.url, timeout=60) as http:
        missing = http.get("/pets/$default/cached")
        assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
        denied = http.get("/pets/$default/cached", headers={"Authorization": "guess"})
        assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"})
        first = http.get("/pets/$default/cached", headers={"Authorization": "letmein"})
        second = http.get("/pets/$default/cached", headers={"Authorization": "letmein"})
    assert first.status_code == second.status_code == 200, first.text
    context = first.json()["lambda"]
    assert context["user"] == "ada"
    # the second request was decided from the cache: the authorizer was not invoked again
    assert second.json()["lambda"] == context


def test_ttl_zero_asks_the_authorizer_every_time(kumo: KumoUp) -> None:
    with httpx.Client(base_url=kumo.url, timeout=60) as http:
        calls = [
            http.get("/pets/$default/uncached", headers={"Authorization": "letmein"}).json()["lambda"]["calls"]
            for _ in range(3)
        ]
    assert calls[1] == calls[0] + 1 and calls[2] == calls[1] + 1, calls


def test_hs256_jwt_with_the_secret_from_the_environment(kumo: KumoUp) -> None:
    with httpx.Client(base_url=kumo.url, timeout=60) as http:
        good = http.get("/pets/$default/partners", headers={"Authorization": f"Bearer {token(SECRET)}"})
        forged = http.get(
            "/pets/$default/partners",
            headers={"Authorization": f"Bearer {token('another-32-byte-or-longer-hs256-secret')}"},
        )
        expired = http.get(
            "/pets/$default/partners", headers={"Authorization": f"Bearer {token(SECRET, exp=int(time.time()) - 60)}"}
        )
        none = http.get("/pets/$default/partners")
    assert good.status_code == 200, good.text
    assert good.json()["jwt"]["claims"]["sub"] == "p-1"
    assert (forged.status_code, forged.json()) == (403, {"message": "Forbidden"})
    assert (expired.status_code, expired.json()) == (403, {"message": "Forbidden"})
    assert (none.status_code, none.json()) == (401, {"message": "Unauthorized"})
