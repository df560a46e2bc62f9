"""One Lambda management-style call after its opening: a request id, the body read within its limit and
signed (:func:`~kumo_gateway.lambda_.signed_request.read_signed`), then the steps the handlers share —
resolving the function named in the path and authorizing the action on it, and answering in
Lambda's shape with the request id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo.catalog import Catalog
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.ids import new_request_id
from kumo_gateway.lambda_.errors import auth_error, lambda_error
from kumo_gateway.lambda_.function_names import FunctionRef, InvalidFunctionName, parse_function_name
from kumo_gateway.lambda_.signed_request import read_signed


@dataclass(frozen=True)
class SignedCall:
    """A request whose body was read and whose signature verified: ``identity`` is the caller."""

    request_id: str
    raw: bytes
    identity: Any
    auth: Auth

    def authorize(self, action: str, scopes: tuple[str, ...], resource: str) -> Response | None:
        """None when ``identity`` may do ``action`` (``lambda:...``), else the Lambda-shaped refusal."""
        denied = self.auth.authorize(self.identity, action, scopes, resource)
        return None if denied is None else auth_error(denied, self.request_id)

    def function(
        self,
        catalog: Catalog,
        operation: str,
        value: str,
        qualifier: str | None = None,
        *,
        invalid_type: str | None = None,
    ) -> FunctionRef | Response:
        """The function ``value`` names (``?Qualifier=`` is ``qualifier``) once ``lambda:{operation}`` on it
        is allowed; else the answer: 400 for a malformed name (``invalid_type``, or the parser's own
        type), the auth error for a refusal."""
        try:
            ref = parse_function_name(value, qualifier)
        except InvalidFunctionName as exc:
            return self.error(400, invalid_type or exc.error_type, exc.message)
        denied = self.authorize(f"lambda:{operation}", (f"function:{ref.name}",), catalog.function_arn(ref.name))
        return ref if denied is None else denied

    def error(self, status: int, error_type: str, message: str) -> Response:
        return lambda_error(status, error_type, message, self.request_id)

    def json(self, data: Any, status: int = 200) -> Response:
        return json_response(data, status, self.request_id)

    def no_content(self) -> Response:
        return Response(status_code=204, headers={"x-amzn-RequestId": self.request_id})


async def open_signed_call(request: Request, auth: Auth, max_body: int) -> SignedCall | Response:
    """The call with a fresh request id, or the answer refusing it (body too large, bad signature)."""
    request_id = new_request_id()
    signed = await read_signed(request, auth, max_body, request_id)
    if isinstance(signed, Response):
        return signed
    raw, identity = signed
    return SignedCall(request_id, raw, identity, auth)


def json_response(data: Any, status: int, request_id: str) -> Response:
    """A Lambda API answer: ``data`` as JSON with the request id."""
    return Response(
        json.dumps(data), status_code=status, media_type="application/json", headers={"x-amzn-RequestId": request_id}
    )
