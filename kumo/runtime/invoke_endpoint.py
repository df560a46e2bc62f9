"""The RIE-compatible invoke endpoint of an instance (for the cluster provider and benchmarks).

``POST /2015-03-31/functions/{name}/invocations`` runs one invocation; ``GET /healthz`` says whether
the instance can take work. Errors use the Lambda API's shape (``x-amzn-ErrorType`` + JSON body).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from kumo import platform_credential
from kumo.lambda_wire import ERROR_CONTENT_TYPE, ERROR_TYPE_HEADER, check_client_context, error_body
from kumo.listeners import ConnectionGuard, ListenerLimits
from kumo.runtime.guarded_site import GUARD, GuardedSockSite, guard_middleware
from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, Invocation

log = logging.getLogger("kumo.runtime")

if TYPE_CHECKING:
    from kumo.runtime.host import RuntimeHost

HostGetter = Callable[[], "RuntimeHost | None"]
_GET_HOST: web.AppKey[HostGetter] = web.AppKey("get_host", object)  # type: ignore[arg-type]
_WAIT_FOR_HOST: web.AppKey[float] = web.AppKey("wait_for_host", float)
_CREDENTIAL: web.AppKey[str | None] = web.AppKey("credential", object)  # type: ignore[arg-type]
_BODY_TIMEOUT: web.AppKey[float] = web.AppKey("body_timeout", float)


def lambda_error(status: int, error_type: str, message: str) -> web.Response:
    return web.Response(
        body=error_body(status, error_type, message),
        status=status,
        content_type=ERROR_CONTENT_TYPE,
        headers={ERROR_TYPE_HEADER: error_type},
    )


async def _live_host(app: web.Application) -> RuntimeHost | None:
    """The current instance; waits (bounded) while a replacement starts in standalone mode."""
    host = app[_GET_HOST]()
    for _ in range(int(app[_WAIT_FOR_HOST] / 0.01)):
        if host is not None and host.alive:
            break
        await asyncio.sleep(0.01)
        host = app[_GET_HOST]()
    return host


async def _invoke(request: web.Request) -> web.Response:
    presented = request.headers.get(platform_credential.HEADER)
    if not platform_credential.matches(request.app[_CREDENTIAL], presented):
        return lambda_error(403, "AccessDeniedException", "Missing or invalid platform credential")
    host = await _live_host(request.app)
    if host is None or not host.alive:
        return lambda_error(503, "ServiceException", "The function instance is not running")
    if host.busy:
        return lambda_error(409, "ResourceConflictException", "The function instance is busy")
    if request.content_length is not None and request.content_length > MAX_SYNC_PAYLOAD:
        return lambda_error(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes")
    try:
        payload = await asyncio.wait_for(request.read(), request.app[_BODY_TIMEOUT])
    except TimeoutError:
        return lambda_error(408, "RequestTimeoutException", "The request body was not received in time")
    except web.HTTPRequestEntityTooLarge:
        return lambda_error(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes")
    client_context = request.headers.get("X-Amz-Client-Context")
    problem = check_client_context(client_context) if client_context is not None else None
    if problem:
        return lambda_error(400, "InvalidRequestContentException", problem)
    invocation = Invocation(
        request_id=request.headers.get("X-Amz-Request-Id") or str(uuid.uuid4()),
        payload=payload or b"{}",
        invoked_function_arn=host.config.arn,
        client_context=client_context,
        log_tail=request.headers.get("X-Amz-Log-Type", "").lower() == "tail",
        trace_id=request.headers.get("X-Amzn-Trace-Id"),
    )
    if host.busy:  # raced with another request while reading the body
        return lambda_error(409, "ResourceConflictException", "The function instance is busy")
    try:
        result = await host.invoke(invocation)
    except RuntimeError as exc:
        return lambda_error(409, "ResourceConflictException", str(exc))
    except Exception:
        log.exception("invocation %s failed inside the host", invocation.request_id)
        return lambda_error(500, "ServiceException", "The function instance failed to run the invocation")
    headers = {
        "X-Amz-Executed-Version": result.executed_version,
        "X-Amz-Request-Id": invocation.request_id,
        "X-Kumo-Instance-Reusable": "true" if result.instance_reusable else "false",
        **result.extra_headers,
    }
    if result.function_error:
        headers["X-Amz-Function-Error"] = result.function_error
    if invocation.log_tail:
        headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail).decode()
    return web.Response(body=result.payload, headers=headers, content_type="application/json")


async def _healthz(request: web.Request) -> web.Response:
    host = request.app[_GET_HOST]()
    ready = host is not None and host.alive and not host.busy
    state = "ready" if ready else ("busy" if host is not None and host.alive else "down")
    return web.json_response({"status": state}, status=200 if ready else 503)


def make_invoke_app(
    get_host: HostGetter,
    *,
    wait_for_host_s: float = 0.0,
    credential: str | None = None,
    body_timeout_s: float | None = None,
) -> web.Application:
    """The endpoint for whatever instance ``get_host()`` returns (standalone mode swaps instances,
    and passes ``wait_for_host_s`` so requests wait for the replacement instead of failing).

    Invocations must carry the platform ``credential`` (default ``KUMO_PLATFORM_CREDENTIAL``; none set:
    not checked); ``/healthz`` (the kubelet's probe) needs none.
    """
    app = web.Application(client_max_size=MAX_SYNC_PAYLOAD, middlewares=[guard_middleware])
    app[_GET_HOST] = get_host
    app[_WAIT_FOR_HOST] = wait_for_host_s
    app[_CREDENTIAL] = credential or platform_credential.from_env()
    app[_BODY_TIMEOUT] = body_timeout_s or ListenerLimits.from_env(internal=True).body_timeout_s
    app.router.add_post("/2015-03-31/functions/{function_name}/invocations", _invoke)
    app.router.add_get("/healthz", _healthz)
    return app


async def serve_app(
    app: web.Application, host: str, port: int, *, limits: ListenerLimits | None = None
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host:port`` (0 = any free port); no signal handling, many per loop.

    ``limits`` bound the listener (:mod:`kumo.listeners`; default from ``KUMO_*``, internal keep-alive).
    """
    limits = limits or ListenerLimits.from_env(internal=True)
    guard = ConnectionGuard(limits)
    app[GUARD] = guard
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=1.0,
        keepalive_timeout=limits.keepalive_timeout_s,
        max_line_size=limits.max_header_bytes,
        max_field_size=limits.max_header_bytes,
    )
    await runner.setup()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
        site = GuardedSockSite(runner, sock, guard)
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return runner, sock.getsockname()[1]
