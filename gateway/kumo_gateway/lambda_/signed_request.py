"""The opening every Lambda management-style endpoint shares: read the body within its limit (413
``RequestTooLargeException`` otherwise) and verify its SigV4 signature (the auth errors otherwise)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo_gateway.auth.asgi import authenticate_scope
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.auth.errors import AuthFailure
from kumo_gateway.bodies import read_body
from kumo_gateway.lambda_.errors import auth_error, lambda_error


async def read_signed(
    request: Request, auth: Auth, max_body: int, request_id: str, too_large: str = "RequestTooLargeException"
) -> tuple[bytes, Any] | Response:
    """``(body, caller identity)``, or the Lambda-shaped answer refusing the request (a body over
    ``max_body``: 413 with the error type ``too_large``)."""
    raw = await read_body(request, max_body)
    if raw is None:
        return lambda_error(413, too_large, f"Request must be smaller than {max_body} bytes", request_id)
    identity = authenticate_scope(auth, "lambda", request.scope, raw)
    if isinstance(identity, AuthFailure):
        return auth_error(identity, request_id)
    return raw, identity
