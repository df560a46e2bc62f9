"""Authenticating an ASGI request (Lambda API handlers): the wire parts SigV4 signs, from the scope."""

from __future__ import annotations

from starlette.types import Scope

from kumo_gateway.auth.authenticator import Auth, Identity
from kumo_gateway.auth.errors import AuthFailure


def authenticate_scope(auth: Auth, service: str, scope: Scope, body: bytes) -> Identity | AuthFailure:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return auth.authenticate(service, scope["method"], path, query, scope["headers"], body)
