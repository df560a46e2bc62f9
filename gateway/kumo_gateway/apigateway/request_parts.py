"""The one place an Api request's event parts are read from the ASGI scope: the request as the client
sent it (:class:`event_v2.HttpRequest`) and where it landed (:class:`event_v2.RequestContext`). The
endpoint builds the route's event from them and the authorizer gate its authorizer's event."""

from __future__ import annotations

import time
from typing import Any

from kumo.models.api import DEFAULT_STAGE
from kumo_gateway.apigateway import event_v2


def scope_headers(scope: dict[str, Any]) -> list[tuple[str, str]]:
    """The header pairs as received (any case, repeats kept)."""
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]


def raw_query(scope: dict[str, Any]) -> str:
    return scope.get("query_string", b"").decode("latin-1")


def http_request(
    scope: dict[str, Any],
    stage: str,
    rest: str,
    *,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
) -> event_v2.HttpRequest:
    """The request, its path as the client saw it on API Gateway (``/<stage>`` kept for a named stage);
    ``rest`` is the raw path after the stage (``""`` for the stage's root)."""
    client = scope.get("client")
    return event_v2.HttpRequest(
        method=scope["method"],
        raw_path=(rest or "/") if stage == DEFAULT_STAGE else f"/{stage}{rest}",
        raw_query=raw_query(scope),
        headers=scope_headers(scope) if headers is None else headers,
        body=body,
        source_ip=client[0] if client else "",
        protocol=f"HTTP/{scope.get('http_version', '1.1')}",
    )


def request_context(
    account_id: str,
    api_id: str,
    stage: str,
    match: Any,
    request_id: str,
    stage_variables: dict[str, str],
    *,
    binary_media_types: tuple[str, ...] = (),
    authorizer: dict[str, object] | None = None,
) -> event_v2.RequestContext:
    """Where the request landed: ``match`` is the route match (its key and path parameters)."""
    return event_v2.RequestContext(
        account_id=account_id,
        api_id=api_id,
        stage=stage,
        route_key=match.route_key,
        request_id=request_id,
        time_epoch_s=time.time(),
        path_parameters=match.path_parameters,
        stage_variables=stage_variables,
        binary_media_types=binary_media_types,
        authorizer=authorizer,
    )
