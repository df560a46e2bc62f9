"""Invocations over pooled keep-alive HTTP to a pod's RIE-style invoke endpoint (port 8080).

aiohttp's client is used: on a warm endpoint it adds less per request than httpx's AsyncClient
(see ``bench/scale.py``). Header mapping (:func:`result_from_response`) is pure.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

import aiohttp

from kumo import platform_credential
from kumo.runtime.invocation import Invocation, InvocationResult
from kumo_gateway.kubernetes.endpoints import Endpoint

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
#: Extra seconds over the function's timeout before the gateway gives up on a pod.
TIMEOUT_MARGIN_S = 5.0


class EndpointUnreachable(Exception):
    """The endpoint refused or dropped the connection before taking the invocation: try another."""


class EndpointBusy(Exception):
    """The endpoint answered 409: another gateway replica is using it."""


class ForwardFailed(Exception):
    """The endpoint answered with an error the gateway cannot pass on as a result."""


def request_headers(invocation: Invocation) -> dict[str, str]:
    headers = {"X-Amz-Request-Id": invocation.request_id, "Content-Type": "application/json"}
    if invocation.log_tail:
        headers["X-Amz-Log-Type"] = "Tail"
    if invocation.client_context:
        headers["X-Amz-Client-Context"] = invocation.client_context
    if invocation.trace_id:
        headers["X-Amzn-Trace-Id"] = invocation.trace_id
    return headers


def result_from_response(status: int, headers: Mapping[str, str], body: bytes) -> InvocationResult:
    """Map the invoke endpoint's answer to an :class:`InvocationResult` (or raise)."""
    if status == 409:
        raise EndpointBusy("the instance is busy")
    if status == 503:
        raise EndpointUnreachable("the instance is not running")
    if status != 200:
        raise ForwardFailed(f"the instance answered {status}: {body[:200].decode(errors='replace')}")
    try:
        log_tail = base64.b64decode(headers.get("X-Amz-Log-Result", ""), validate=True)
    except (binascii.Error, ValueError):
        log_tail = b""
    return InvocationResult(
        payload=body,
        function_error=headers.get("X-Amz-Function-Error") or None,
        log_tail=log_tail,
        executed_version=headers.get("X-Amz-Executed-Version") or "$LATEST",
        instance_reusable=headers.get("X-Kumo-Instance-Reusable", "true").lower() != "false",
    )


class Forwarder:
    """One pooled client session for every endpoint; ``start`` before use, ``close`` at the end."""

    def __init__(
        self, *, connect_timeout_s: float = 2.0, limit_per_host: int = 0, credential: str | None = None
    ) -> None:
        """``credential``: the platform credential the pods check (default ``KUMO_PLATFORM_CREDENTIAL``)."""
        credential = credential or platform_credential.from_env()
        self._platform_headers = {platform_credential.HEADER: credential} if credential else {}
        self.connect_timeout_s = connect_timeout_s
        self.limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.limit_per_host, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def invoke(self, endpoint: Endpoint, invocation: Invocation, timeout_s: float) -> InvocationResult:
        """Run ``invocation`` on ``endpoint``; raises :class:`EndpointUnreachable`, :class:`EndpointBusy`
        or :class:`ForwardFailed`."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        url = f"http://{endpoint.ip}:{endpoint.port}{INVOKE_PATH}"
        timeout = aiohttp.ClientTimeout(total=timeout_s + TIMEOUT_MARGIN_S, sock_connect=self.connect_timeout_s)
        try:
            async with self._session.post(
                url,
                data=invocation.payload,
                headers={**request_headers(invocation), **self._platform_headers},
                timeout=timeout,
            ) as response:
                body = await response.read()
                return result_from_response(response.status, response.headers, body)
        except aiohttp.ClientConnectorError as exc:
            raise EndpointUnreachable(f"cannot connect to {endpoint}: {exc}") from None
        except TimeoutError:
            raise ForwardFailed(f"{endpoint} did not answer within {timeout_s + TIMEOUT_MARGIN_S:g}s") from None
        except aiohttp.ClientError as exc:
            raise ForwardFailed(f"{endpoint} failed: {exc}") from None
