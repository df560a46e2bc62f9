"""``kumo invoke``: call a function through a gateway's Lambda Invoke API, as the AWS CLI would."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import httpx


class InvokeError(Exception):
    """The gateway answered with an error (its Lambda error type and message)."""


@dataclass
class InvokeOutcome:
    status: int
    payload: bytes
    function_error: str | None
    log: str | None


def invoke(
    url: str,
    name: str,
    payload: str,
    *,
    qualifier: str | None = None,
    tail: bool = False,
    timeout_s: float = 960.0,
    auth: httpx.Auth | None = None,
    event: bool = False,
) -> InvokeOutcome:
    """``auth`` signs the request (:class:`kumo.aws_signing.SigV4Auth`); the gateway refuses unsigned ones.
    ``event``: asynchronous invocation (``InvocationType=Event``): 202 and the request id as payload."""
    try:
        json.loads(payload or "{}")
    except ValueError as exc:
        raise InvokeError(f"--payload is not valid JSON: {exc}") from None
    headers = {"X-Amz-Invocation-Type": "Event" if event else "RequestResponse", "Content-Type": "application/json"}
    if tail:
        headers["X-Amz-Log-Type"] = "Tail"
    params = {"Qualifier": qualifier} if qualifier else None
    endpoint = f"{url.rstrip('/')}/2015-03-31/functions/{name}/invocations"
    try:
        response = httpx.post(
            endpoint,
            content=payload.encode(),
            headers=headers,
            params=params,
            timeout=timeout_s,
            auth=auth or httpx.USE_CLIENT_DEFAULT,
        )
    except httpx.HTTPError as exc:
        raise InvokeError(f"cannot reach the gateway at {url}: {exc}") from None
    if response.status_code >= 400:
        error_type = response.headers.get("x-amzn-ErrorType", f"HTTP {response.status_code}")
        try:
            message = response.json().get("message") or response.json().get("Message") or response.text
        except ValueError:
            message = response.text
        raise InvokeError(f"{error_type.split(':')[0]}: {message}")
    if event:
        request_id = response.headers.get("x-amzn-RequestId", "")
        return InvokeOutcome(status=response.status_code, payload=request_id.encode(), function_error=None, log=None)
    log = response.headers.get("X-Amz-Log-Result")
    return InvokeOutcome(
        status=response.status_code,
        payload=response.content,
        function_error=response.headers.get("X-Amz-Function-Error"),
        log=base64.b64decode(log).decode(errors="replace") if log else None,
    )
