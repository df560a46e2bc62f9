"""Build the Lambda proxy event, payload format 1.0 (pure: no I/O).

The REST API proxy event as API Gateway HTTP APIs send it with ``payloadFormatVersion: 1.0``
(developer guide, "Create AWS Lambda proxy integrations for HTTP APIs" and "Set up Lambda proxy
integrations" for REST APIs): ``headers`` and ``queryStringParameters`` keep the last value of a
repeated name while ``multiValueHeaders`` and ``multiValueQueryStringParameters`` keep every value;
absent parts are ``null``; ``Cookie`` stays a header (there is no ``cookies`` field).

``resource`` (and ``requestContext.resourcePath``) is the matched route's path template
(``/items/{id}``), ``$default`` for the ``$default`` route; ``requestContext.resourceId`` is the
route key (``GET /items/{id}``). ``path`` is the request path as the client sent it, with
``/<stage>`` for a named stage. Same inputs as :mod:`event_v2`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from kumo_gateway.apigateway.event_v2 import HttpRequest, RequestContext, encode_body, format_request_time
from kumo_gateway.apigateway.route_matching import DEFAULT_ROUTE

#: ``requestContext.identity`` keys that API Gateway fills only with IAM, Cognito or API-key auth.
_IDENTITY_NULLS = (
    "accessKey",
    "accountId",
    "apiKey",
    "apiKeyId",
    "caller",
    "cognitoAmr",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def resource_path(route_key: str) -> str:
    """``"GET /items/{id}"`` -> ``"/items/{id}"``; ``"$default"`` stays ``"$default"``."""
    if route_key == DEFAULT_ROUTE:
        return DEFAULT_ROUTE
    return route_key.split(" ", 1)[1] if " " in route_key else route_key


def multi_value_headers(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``(headers, multiValueHeaders)``: last value wins in the first, every value kept in the second.

    Names keep the spelling they were first received with; repeats are grouped case-insensitively.
    """
    spelling: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower(), name)
        multi.setdefault(key, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def multi_value_query(raw_query: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """``(queryStringParameters, multiValueQueryStringParameters)``, decoded, in order."""
    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        multi.setdefault(key, []).append(value)
    return {key: values[-1] for key, values in multi.items()}, multi


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def build_event(request: HttpRequest, context: RequestContext) -> dict[str, object]:
    """The payload format 1.0 event for ``request`` routed as described by ``context``."""
    headers, multi_headers = multi_value_headers(request.headers)
    query, multi_query = multi_value_query(request.raw_query)
    host = _header(headers, "host") or ""
    domain = host.rsplit(":", 1)[0] if host and not host.endswith("]") else host
    resource = resource_path(context.route_key)
    identity: dict[str, object] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = _header(headers, "user-agent") or ""
    if request.body:
        body, encoded = encode_body(request.body, _header(headers, "content-type"), context.binary_media_types)
    else:
        body, encoded = None, False
    event: dict[str, object] = {
        "version": "1.0",
        "resource": resource,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "extendedRequestId": context.request_id,
            "httpMethod": request.method,
            "identity": dict(sorted(identity.items())),
            "path": request.raw_path,
            "protocol": request.protocol,
            "requestId": context.request_id,
            "requestTime": format_request_time(context.time_epoch_s),
            "requestTimeEpoch": int(context.time_epoch_s * 1000),
            "resourceId": context.route_key,
            "resourcePath": resource,
            "stage": context.stage,
        },
        "pathParameters": dict(context.path_parameters) or None,
        "stageVariables": dict(context.stage_variables) or None,
        "body": body,
        "isBase64Encoded": encoded,
    }
    if context.authorizer is not None:
        event["requestContext"]["authorizer"] = context.authorizer  # type: ignore[index]
    return event
