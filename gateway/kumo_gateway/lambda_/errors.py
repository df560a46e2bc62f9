"""Lambda API error responses for the gateway (the shape is :func:`kumo.lambda_wire.error_body`)."""

from __future__ import annotations

from starlette.responses import Response

from kumo.lambda_wire import ERROR_CONTENT_TYPE, ERROR_TYPE_HEADER, error_body
from kumo_gateway.auth.errors import AuthFailure


def lambda_error(
    status: int,
    error_type: str,
    message: str,
    request_id: str,
    *,
    extra: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error in the Lambda API's JSON shape; botocore raises ``client.exceptions.<error_type>``."""
    response = Response(
        error_body(status, error_type, message, extra), status_code=status, media_type=ERROR_CONTENT_TYPE
    )
    response.headers[ERROR_TYPE_HEADER] = error_type
    response.headers["x-amzn-RequestId"] = request_id
    if headers:
        response.headers.update(headers)
    return response


def resource_not_found(arn: str, request_id: str) -> Response:
    return lambda_error(404, "ResourceNotFoundException", f"Function not found: {arn}", request_id)


def unknown_operation(request_id: str) -> Response:
    return lambda_error(404, "UnknownOperationException", "Unknown operation", request_id)


def service_error(message: str, request_id: str, status: int = 500) -> Response:
    return lambda_error(status, "ServiceException", message, request_id)


def auth_error(failure: AuthFailure, request_id: str) -> Response:
    """A refused signature or a denied action, as Lambda answers it (403, type in ``x-amzn-ErrorType``)."""
    return lambda_error(failure.status("lambda"), failure.code.value, failure.message, request_id)
