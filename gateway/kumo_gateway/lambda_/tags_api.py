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
from kumo_gateway.lambda_.errors import resource_not_found, unknown_operation
from kumo_gateway.lambda_.function_requests import RequestError, parse_tags
from kumo_gateway.lambda_.function_writer import FunctionWriter, settled
from kumo_gateway.lambda_.signed_call import open_signed_call

TAGS_VERSION = "2017-03-31"
TAGS_PREFIX = f"/{TAGS_VERSION}/tags/"
MAX_BODY = 64 * 1024
_OPERATIONS = {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}


class TagsHandler:
    def __init__(self, catalog: Catalog, writer: FunctionWriter, *, auth: Auth) -> None:
        self.catalog, self.writer, self.auth = catalog, writer, auth

    async def handle(self, request: Request) -> Response:
        call = await open_signed_call(request, self.auth, MAX_BODY)
        if isinstance(call, Response):
            return call
        path = request.scope["path"]
        operation = _OPERATIONS.get(request.method)
        if operation is None or not path.startswith(TAGS_PREFIX):
            return unknown_operation(call.request_id)
        arn = path[len(TAGS_PREFIX) :]
        ref = call.function(self.catalog, operation, arn, invalid_type="InvalidParameterValueException")
        if isinstance(ref, Response):
            return ref
        try:
            if not arn.startswith("arn:") or ref.qualifier is not None:
                raise RequestError(f"{operation} takes an unqualified function ARN, got {arn!r}")
            if self.catalog.function(ref.name) is None:
                return resource_not_found(arn, call.request_id)
            if operation == "ListTags":
                return call.json({"Tags": self.writer.tags(ref.name) if self.writer.owns(ref.name) else {}})
            if operation == "TagResource":
                body = json.loads(call.raw or b"{}")
                if not isinstance(body, dict) or not body.get("Tags"):
                    raise RequestError("Tags is required: a map of keys to values")
                await settled(self.writer.set_tags(ref.name, parse_tags(body["Tags"])))
            else:
                keys = tuple(request.query_params.getlist("tagKeys"))
                if not keys:
                    raise RequestError("TagKeys is required")
                await settled(self.writer.set_tags(ref.name, {}, keys))
        except ValueError as exc:
            if isinstance(exc, (RequestError, VersionError)):
                return call.error(exc.status, exc.error_type, exc.message)
            return call.error(400, "InvalidParameterValueException", "Could not parse request body")
        return call.no_content()
