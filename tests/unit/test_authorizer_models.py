"""`spec.authorizers` and the routes' `authorizer`/`authorizationScopes`: accepted shapes and clear errors."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kumo.models import Api, format_validation_error
from kumo.models.authorizers import FunctionAuthorizer, JwtAuthorizer

JWT = {"type": "jwt", "issuer": "https://issuer.example", "audience": ["pets"], "jwks": {"uri": "https://i.example/j"}}
FN = {"type": "function", "function": "authz"}
ROUTE = {"method": "GET", "path": "/pets", "function": "list-pets"}


def api(authorizers: dict[str, Any], routes: list[dict[str, Any]] | None = None) -> Api:
    spec = {"authorizers": authorizers, "routes": routes or [ROUTE]}
    return Api.model_validate({"metadata": {"name": "pets"}, "spec": spec})


def errors(authorizers: dict[str, Any], routes: list[dict[str, Any]] | None = None) -> list[str]:
    with pytest.raises(ValidationError) as info:
        api(authorizers, routes)
    return format_validation_error(info.value)


def test_issue_example_shape() -> None:
    parsed = api(
        {
            "users": JWT,
            "partners": JWT | {"jwks": None, "secretRef": {"name": "partners-jwt", "key": "secret"}},
            "custom": FN | {"identitySource": ["$request.header.Authorization"], "ttl": "300s"},
        },
        [
            ROUTE | {"method": "POST", "authorizer": "users", "authorizationScopes": ["pets/write"]},
            ROUTE | {"path": "/pets/{id}", "authorizer": "custom"},
        ],
    )
    users, partners, custom = (parsed.spec.authorizers[n] for n in ("users", "partners", "custom"))
    assert isinstance(users, JwtAuthorizer) and users.jwks is not None and users.jwks.uri == "https://i.example/j"
    assert users.identity_source == ["$request.header.Authorization"]
    assert isinstance(partners, JwtAuthorizer) and partners.secret_ref is not None
    assert partners.secret_ref.name == "partners-jwt"
    assert isinstance(custom, FunctionAuthorizer)
    assert (custom.ttl, custom.payload_format, custom.enable_simple_responses) == (300.0, "2.0", False)
    assert parsed.spec.routes[0].authorization_scopes == ["pets/write"]
    dumped = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)["spec"]["authorizers"]
    assert dumped["custom"]["ttl"] == "5m" and dumped["partners"]["secretRef"] == {
        "name": "partners-jwt",
        "key": "secret",
    }


def test_inline_keys_and_function_defaults() -> None:
    parsed = api({"u": JWT | {"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}}, "f": FN})
    assert parsed.spec.authorizers["u"].jwks.keys[0]["kty"] == "EC"  # type: ignore[union-attr]
    assert parsed.spec.authorizers["f"].ttl == 300.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("authorizers", "routes", "message"),
    [
        ({"u": JWT | {"secretRef": {"name": "s", "key": "k"}}}, None, "give exactly one of jwks"),
        ({"u": JWT | {"jwks": None}}, None, "give exactly one of jwks"),
        ({"u": JWT | {"jwks": {}}}, None, "give exactly one of uri or keys"),
        ({"u": JWT | {"audience": []}}, None, "must have at least 1 item"),
        ({"u": {"type": "oauth"}}, None, "type must be one of 'jwt', 'function'"),
        ({"u": {"issuer": "x"}}, None, "type is required"),
        ({"u": FN | {"ttl": "3601s"}}, None, "must be at most 3600s"),
        ({"u": FN | {"ttl": "1500ms"}}, None, "must be a whole number of seconds"),
        ({"u": FN | {"payloadFormat": "1.0", "enableSimpleResponses": True}}, None, "needs payloadFormat 2.0"),
        ({"u": FN | {"identitySource": []}}, None, "caching (ttl > 0) needs an identitySource"),
        ({"u": FN | {"identitySource": ["header.Authorization"]}}, None, "must match the pattern"),
        ({"u": FN | {"issuer": "x"}}, None, "unknown field"),
        ({"a.b": FN}, None, "invalid authorizer name"),
        ({}, [ROUTE | {"authorizer": "nope"}], "authorizer 'nope' is not in spec.authorizers"),
        ({"f": FN}, [ROUTE | {"authorizer": "f", "authorizationScopes": ["a"]}], "need a jwt authorizer"),
        ({"u": JWT}, [ROUTE | {"authorizationScopes": ["a"]}], "need a jwt authorizer"),
    ],
)
def test_refused_with_a_clear_message(authorizers: dict[str, Any], routes: Any, message: str) -> None:
    found = errors(authorizers, routes)
    assert any(message in line for line in found), found


def test_ttl_zero_without_identity_source_is_fine() -> None:
    parsed = api({"f": FN | {"ttl": 0, "identitySource": []}})
    assert parsed.spec.authorizers["f"].ttl == 0  # type: ignore[union-attr]
