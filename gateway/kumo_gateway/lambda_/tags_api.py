"""Lambda's tag calls on functions: ``TagResource`` (``POST``), ``UntagResource`` (``DELETE ?tagKeys=``) and
``ListTags`` (``GET``) under ``/2017-03-31/tags/{function ARN}``.

Tags are kept for functions created through the Lambda API (their record in the state dir); a
manifest function's tags would belong in its manifest, so changing them here is refused.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from kumo.catalog import Catalog
from kumo.versions import VersionError
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.ids import new_request_id
from kumo_gateway.lambda_.errors import auth_error, lambda_error, unknown_operation
from kumo_gateway.lambda_.function_names import InvalidFunctionName, parse_function_name
from kumo_gateway.lambda_.function_requests import RequestError, parse_tags
from kumo_gateway.lambda_.function_writer import FunctionWriter, settled
from kumo_gateway.lambda_.signed_request import read_signed

TAGS_VERSION = "2017-03-31"
TAGS_PREFIX = f"/{TAGS_VERSION}/tags/"
MAX_BODY = 64 * 1024
_OPERATIONS = {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}


class TagsHandler:
    def __init__(self, catalog: Catalog, writer: FunctionWriter, *, auth: Auth) -> None:
        self.catalog, self.writer, self.auth = catalog, writer, auth

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        signed = await read_signed(request, self.auth, MAX_BODY, request_id)
        if isinstance(signed, Response):
            return signed
        raw, identity = signed
        path = request.scope["path"]
        operation = _OPERATIONS.get(request.method)
        if operation is None or not path.startswith(TAGS_PREFIX):
            return unknown_operation(request_id)
        arn = path[len(TAGS_PREFIX) :]
        try:
            ref = parse_function_name(arn)
        except InvalidFunctionName as exc:
            return lambda_error(400, "InvalidParameterValueException", exc.message, request_id)
        denied = self.auth.authorize(
            identity, f"lambda:{operation}", (f"function:{ref.name}",), self.catalog.function_arn(ref.name)
        )
        if denied is not None:
            return auth_error(denied, request_id)
        try:
            if not arn.startswith("arn:") or ref.qualifier is not None:
                raise RequestError(f"{operation} takes an unqualified function ARN, got {arn!r}")
            if self.catalog.function(ref.name) is None:
                return lambda_error(404, "ResourceNotFoundException", f"Function not found: {arn}", request_id)
            if operation == "ListTags":
                tags = self.writer.tags(ref.name) if self.writer.owns(ref.name) else {}
                return _json({"Tags": tags}, 200, request_id)
            if operation == "TagResource":
                body = json.loads(raw or b"{}")
                if not isinstance(body, dict) or not body.get("Tags"):
                    raise RequestError("Tags is required: a map of keys to values")
                await settled(self.writer.set_tags(ref.name, parse_tags(body["Tags"])))
            else:
                keys = tuple(request.query_params.getlist("tagKeys"))
                if not keys:
                    raise RequestError("TagKeys is required")
                await settled(self.writer.set_tags(ref.name, {}, keys))
        except ValueError as exc:
            if isinstance(exc, RequestError):
                return lambda_error(exc.status, exc.error_type, exc.message, request_id)
            if isinstance(exc, VersionError):
                return lambda_error(exc.status, exc.error_type, exc.message, request_id)
            return lambda_error(400, "InvalidParameterValueException", "Could not parse request body", request_id)
        return Response(status_code=204, headers={"x-amzn-RequestId": request_id})


def _json(data: object, status: int, request_id: str) -> Response:
    return Response(
        json.dumps(data), status_code=status, media_type="application/json", headers={"x-amzn-RequestId": request_id}
    )
