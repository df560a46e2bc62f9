"""How the worker runs an event: the gateway's own synchronous Invoke API (the provider path sync calls
take: wake from zero, instance limits), signed with the worker's platform key, carrying the event's
request id (``X-Kumo-Request-Id``, honoured for the worker's key only) so every attempt has the same one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from kumo_gateway.async_.rules import Outcome

#: Header carrying the event's request id; the gateway uses it only for the async worker's key.
REQUEST_ID_HEADER = "x-kumo-request-id"
#: The name of the access key ``kumo up`` gives its workers.
WORKER_KEY_NAME = "platform:async-worker"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    status: int | None = None
    executed_version: str | None = None
    function_error: str | None = None
    payload: bytes | None = None
    error: dict[str, Any] | None = None


def classify(status: int, headers: httpx.Headers, body: bytes) -> Attempt:
    """Pure: an Invoke answer as an attempt outcome."""
    version = headers.get("x-amz-executed-version")
    if status == 200:
        function_error = headers.get("x-amz-function-error")
        if function_error:
            try:
                error = json.loads(body)
            except ValueError:
                error = {"errorMessage": body.decode(errors="replace")}
            if not isinstance(error, dict):
                error = {"errorMessage": str(error)}
            return Attempt(Outcome.FUNCTION_ERROR, 200, version, function_error, body, error)
        return Attempt(Outcome.SUCCESS, 200, version, None, body)
    error_type = (headers.get("x-amzn-errortype") or "").split(":")[0]
    try:
        message = json.loads(body).get("message") or json.loads(body).get("Message")
    except (ValueError, AttributeError):
        message = body.decode(errors="replace")[:500]
    error = {"errorType": error_type or f"HTTP{status}", "errorMessage": message, "statusCode": status}
    if status == 404 and error_type == "ResourceNotFoundException":
        return Attempt(Outcome.GONE, status, error=error)
    if status == 429 or status >= 500:
        return Attempt(Outcome.THROTTLED, status, error=error)
    # Any other 4xx (a payload the gateway now refuses, a revoked key): retrying cannot help.
    return Attempt(Outcome.GONE, status, error=error)


class GatewayInvoker:
    """Invokes functions through a gateway (keep-alive connections, SigV4 with the worker's key)."""

    def __init__(self, base_url: str, auth: httpx.Auth | None, timeout_s: float = 960.0) -> None:
        self.base_url = base_url.rstrip("/")
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self.client = httpx.AsyncClient(auth=auth, timeout=timeout_s, limits=limits)

    async def invoke(
        self, function: str, version: str, payload: bytes, request_id: str, event: bool = False
    ) -> Attempt:
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Invocation-Type": "Event" if event else "RequestResponse",
            REQUEST_ID_HEADER: request_id,
        }
        url = f"{self.base_url}/2015-03-31/functions/{function}/invocations"
        try:
            response = await self.client.post(url, content=payload, headers=headers, params={"Qualifier": version})
        except httpx.HTTPError as exc:
            error = {"errorType": "GatewayUnreachable", "errorMessage": f"{type(exc).__name__}: {exc}"}
            return Attempt(Outcome.THROTTLED, error=error)
        if event:
            if response.status_code == 202:
                return Attempt(Outcome.SUCCESS, 202)
            return classify(response.status_code, response.headers, response.content)
        return classify(response.status_code, response.headers, response.content)

    async def close(self) -> None:
        await self.client.aclose()
