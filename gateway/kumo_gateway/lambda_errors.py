"""Lambda API error responses: ``{"Type", "message"}`` plus ``x-amzn-ErrorType``, as botocore expects."""

from __future__ import annotations

import json

from starlette.responses import Response


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
    body: dict[str, str] = {"Type": "Service" if status >= 500 else "User", "message": message}
    if extra:
        body.update(extra)
    response = Response(json.dumps(body).encode(), status_code=status, media_type="application/json")
    response.headers["x-amzn-ErrorType"] = error_type
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
