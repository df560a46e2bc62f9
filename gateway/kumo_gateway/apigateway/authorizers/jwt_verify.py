"""JWT authorizer checks (pure: keys are given, nothing is fetched).

As API Gateway HTTP APIs validate a JWT ("Control access to HTTP APIs with JWT authorizers"): the
identity source holds the token, with or without a ``Bearer `` prefix; the signature is checked with
the authorizer's algorithm family only (RS256/ES256 for a JWKS, HS256 for a secret: ``none`` and
algorithm confusion are impossible); ``exp`` is required and must be in the future, ``nbf`` and
``iat`` not in the future (each with :data:`LEEWAY_S` of clock skew); ``iss`` must equal the issuer;
``aud`` (or, without ``aud``, ``client_id``, as Cognito access tokens carry it) must name one of
the audiences. Scopes come from ``scope`` (space-separated) or ``scp`` (list or string); a route with
``authorizationScopes`` needs any one of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

#: Allowed clock skew for ``exp``/``nbf``/``iat``, seconds.
LEEWAY_S = 5
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
SYMMETRIC_ALGORITHMS = ("HS256",)
#: Tokens longer than this are refused before any parsing (API Gateway caps headers at 10 KB).
MAX_TOKEN_LENGTH = 16 * 1024


class Unauthorized(Exception):
    """No token: 401."""


class Forbidden(Exception):
    """A token that does not verify, or lacks the route's scopes: 403. The text says why (for logs)."""


@dataclass(frozen=True)
class Verified:
    claims: dict[str, Any]
    scopes: list[str] | None


def token_from(value: str | None) -> str:
    """The JWT in an identity-source value: ``Bearer <jwt>`` or the bare token (Unauthorized if empty)."""
    if value is None or not value.strip():
        raise Unauthorized("no token")
    text = value.strip()
    if text.lower() == "bearer":
        raise Unauthorized("no token")
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    if not text:
        raise Unauthorized("no token")
    return text


def header_of(token: str) -> dict[str, Any]:
    """The token's (unverified) header; Forbidden if it is not a JWS compact token."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise Forbidden("token too long")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Forbidden(f"malformed token: {exc}") from None
    if not isinstance(header, dict):
        raise Forbidden("malformed token header")
    return header


def pick_key(header: Mapping[str, Any], keys: Sequence[PyJWK]) -> PyJWK:
    """The JWKS key for ``header``'s ``kid`` (or the only key of the token's algorithm when it has no kid)."""
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise Forbidden(f"algorithm {alg!r} is not accepted (RS256 or ES256)")
    usable = [key for key in keys if key.algorithm_name == alg]
    kid = header.get("kid")
    if kid is not None:
        usable = [key for key in usable if key.key_id == kid]
    if len(usable) != 1:
        raise Forbidden(f"no unique key for kid {kid!r} and alg {alg}")
    return usable[0]


def verify(
    token: str,
    key: Any,
    algorithms: Sequence[str],
    *,
    issuer: str,
    audience: Sequence[str],
) -> dict[str, Any]:
    """The claims of a token signed with ``key`` by one of ``algorithms``; Forbidden otherwise."""
    options: dict[str, Any] = {"require": ["exp"], "verify_aud": False, "verify_iss": False}
    try:
        claims = jwt.decode(token, key, algorithms=list(algorithms), options=options, leeway=LEEWAY_S)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise Forbidden(f"invalid token: {exc}") from None
    if claims.get("iss") != issuer:
        raise Forbidden("wrong issuer")
    aud = claims.get("aud", claims.get("client_id"))
    names = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(name, str) and name in audience for name in names):
        raise Forbidden("wrong audience")
    return claims


def scopes_of(claims: Mapping[str, Any]) -> list[str] | None:
    """Scopes from ``scope`` (space-separated) or ``scp`` (list or string); None when neither is there."""
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
    return None


def check_scopes(scopes: list[str] | None, required: Sequence[str] | None) -> None:
    """Forbidden unless the token has at least one of the route's scopes (no scopes required: fine)."""
    if required and not set(scopes or ()) & set(required):
        raise Forbidden("insufficient scopes")


def claim_strings(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway hands them to the function: every value a string (lists as ``[a b]``)."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, int | float):
            out[name] = str(int(value)) if float(value).is_integer() else str(value)
        elif isinstance(value, list):
            out[name] = "[" + " ".join(v if isinstance(v, str) else json.dumps(v) for v in value) + "]"
        else:
            out[name] = json.dumps(value, separators=(",", ":"))
    return out
