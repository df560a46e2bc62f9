"""The Lambda ``Invoke`` operation: ``POST /2015-03-31/functions/{FunctionName}/invocations``."""

from __future__ import annotations

import base64
import logging
import re
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo.catalog import Catalog
from kumo.lambda_wire import check_client_context
from kumo.runtime.invocation import LOG_TAIL_BYTES, MAX_SYNC_PAYLOAD, Invocation, error_payload
from kumo_gateway.async_.enqueue import MAX_EVENT_PAYLOAD
from kumo_gateway.async_.invoker import REQUEST_ID_HEADER, WORKER_KEY_NAME
from kumo_gateway.auth.asgi import authenticate_scope
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.auth.errors import AuthFailure
from kumo_gateway.bodies import read_body
from kumo_gateway.ids import new_request_id
from kumo_gateway.lambda_.errors import auth_error, lambda_error, resource_not_found, service_error, unknown_operation
from kumo_gateway.lambda_.function_names import InvalidFunctionName, parse_function_name
from kumo_gateway.provider import FunctionNotFound, FunctionNotReady, InstanceUnavailable, Provider, TooManyRequests

if TYPE_CHECKING:
    from kumo_gateway.async_.enqueue import Enqueuer

log = logging.getLogger("kumo.gateway")

_INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
#: Lambda's limit for an asynchronous invocation's payload.
MAX_ASYNC_PAYLOAD = MAX_EVENT_PAYLOAD
_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_LOG_TYPES = ("None", "Tail")


def _enum_error(value: str, field: str, allowed: tuple[str, ...], request_id: str) -> Response:
    return lambda_error(
        400,
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]",
        request_id,
    )


class InvokeHandler:
    """Answers Invoke requests against a catalog, running functions through a provider."""

    def __init__(self, catalog: Catalog, provider: Provider, auth: Auth, enqueuer: Enqueuer | None = None) -> None:
        self.catalog = catalog
        self.provider = provider
        self.auth = auth
        #: Accepts ``InvocationType=Event`` (async invocation needs the shared Redis).
        self.enqueuer = enqueuer

    async def invoke(self, request: Request) -> Response:
        request_id = new_request_id()
        try:
            return await self._invoke(request, request_id)
        except ClientDisconnect:
            return Response(status_code=400)
        except Exception:
            log.exception("Invoke %s failed unexpectedly (request %s)", request.url.path, request_id)
            return service_error("An internal error occurred while invoking the function.", request_id)

    async def unknown(self, request: Request) -> Response:
        return unknown_operation(new_request_id())

    async def _invoke(self, request: Request, request_id: str) -> Response:
        headers = request.headers
        body = await read_body(request, MAX_SYNC_PAYLOAD)
        if body is None:
            return lambda_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation",
                request_id,
            )
        identity = authenticate_scope(self.auth, "lambda", request.scope, body)
        if isinstance(identity, AuthFailure):
            return auth_error(identity, request_id)
        try:
            ref = parse_function_name(
                request.path_params["function_name"], request.query_params.get("Qualifier") or None
            )
        except InvalidFunctionName as exc:
            return lambda_error(400, exc.error_type, exc.message, request_id)
        denied = self.auth.authorize(
            identity, "lambda:InvokeFunction", (f"function:{ref.name}",), self.catalog.function_arn(ref.name)
        )
        if denied is not None:
            return auth_error(denied, request_id)
        arn = self.catalog.function_arn(ref.name, ref.qualifier)
        resolution = self.catalog.resolve(ref.name, ref.qualifier)
        if resolution is None:
            return resource_not_found(arn, request_id)

        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in _INVOCATION_TYPES:
            return _enum_error(invocation_type, "invocationType", _INVOCATION_TYPES, request_id)
        log_type = headers.get("x-amz-log-type", "None")
        if log_type not in _LOG_TYPES:
            return _enum_error(log_type, "logType", _LOG_TYPES, request_id)
        client_context = headers.get("x-amz-client-context") or None
        if client_context is not None:
            problem = check_client_context(client_context)
            if problem is not None:
                return lambda_error(400, "InvalidRequestContentException", problem, request_id)
        if invocation_type == "DryRun":
            return Response(status_code=204, headers={"x-amzn-RequestId": request_id})
        if invocation_type == "Event" and self.enqueuer is None:
            return lambda_error(
                400,
                "InvalidParameterValueException",
                "InvocationType Event (asynchronous invocation) needs the platform's Redis; this gateway has none.",
                request_id,
            )
        if invocation_type == "Event" and len(body) > MAX_ASYNC_PAYLOAD:
            return lambda_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for asynchronous invocation",
                request_id,
            )
        if not body:
            body = b"{}"
        else:
            try:
                untrusted_json.loads(body)
            except ValueError as exc:
                return lambda_error(
                    400,
                    "InvalidRequestContentException",
                    f"Could not parse request body into json: Could not parse payload into json: {exc}",
                    request_id,
                )

        if invocation_type == "Event":
            assert self.enqueuer is not None
            function = self.catalog.function(ref.name)
            if function is None:
                return resource_not_found(arn, request_id)
            await self.enqueuer.enqueue(function, ref.qualifier, resolution.version, arn, body, request_id)
            return Response(status_code=202, headers={"x-amzn-RequestId": request_id})
        passed = headers.get(REQUEST_ID_HEADER)
        if passed and (identity.name == WORKER_KEY_NAME or not self.auth.enabled) and _REQUEST_ID.match(passed):
            request_id = passed  # an async event's attempt: the same request id every time

        invocation = Invocation(
            request_id=request_id,
            payload=body,
            invoked_function_arn=arn,
            client_context=client_context,
            log_tail=log_type == "Tail",
            trace_id=headers.get("x-amzn-trace-id"),
        )
        try:
            async with self.provider.acquire(ref.name, resolution.version) as instance:
                result = await instance.invoke(invocation)
        except FunctionNotFound:
            return resource_not_found(arn, request_id)
        except TooManyRequests as exc:
            return lambda_error(
                429,
                "TooManyRequestsException",
                exc.message or "Rate Exceeded.",
                request_id,
                extra={"Reason": exc.reason},
                headers={"Retry-After": str(exc.retry_after_s)},
            )
        except FunctionNotReady as exc:
            message = (
                "The operation cannot be performed at this time. "
                f"The function is currently in the following state: {exc.state}"
            )
            if exc.reason:
                message += f". StateReason: {exc.reason}"
            return lambda_error(409, "ResourceConflictException", message, request_id)
        except InstanceUnavailable as exc:
            return service_error(f"No instance of the function became available: {exc}", request_id, 503)

        payload, function_error = result.payload, result.function_error
        if len(payload) > MAX_SYNC_PAYLOAD:
            payload = error_payload(
                "Function.ResponseSizeTooLarge",
                f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes).",
            )
            function_error = "Unhandled"
        response = Response(payload, status_code=200, media_type="application/json")
        raw = response.raw_headers
        raw.append((b"x-amzn-requestid", request_id.encode()))
        raw.append((b"x-amz-executed-version", result.executed_version.encode()))
        if function_error:
            raw.append((b"x-amz-function-error", function_error.encode()))
        if invocation.log_tail:
            raw.append((b"x-amz-log-result", base64.b64encode(result.log_tail[-LOG_TAIL_BYTES:])))
        for name, value in result.extra_headers.items():
            raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        return response
