"""The Lambda Runtime API (``/2018-06-01/runtime/...``) over HTTP, served to one runtime."""

from __future__ import annotations

import base64
import binascii
import json
import os
import socket
import time

from aiohttp import web

from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, Invocation
from kumo.runtime.session import RequestError, RuntimeSession

PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_SESSION: web.AppKey[RuntimeSession] = web.AppKey("session", RuntimeSession)
_ARN: web.AppKey[str] = web.AppKey("arn", str)


def _json_error(status: int, error_type: str, message: str) -> web.Response:
    body = json.dumps({"errorMessage": message, "errorType": error_type})
    return web.Response(status=status, text=body, content_type="application/json")


def _refused(exc: RequestError) -> web.Response:
    return web.Response(status=exc.status, body=exc.body, content_type="application/json")


def trace_id(invocation: Invocation) -> str:
    """The X-Ray trace header Lambda always sets (generated when the caller gave none)."""
    if invocation.trace_id:
        return invocation.trace_id
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"


def decode_client_context(value: str | None) -> str | None:
    """``X-Amz-Client-Context`` is base64; the runtime gets the decoded JSON text."""
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def next_headers(invocation: Invocation, deadline_ms: int) -> dict[str, str]:
    headers = {
        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
        "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_function_arn,
        "Lambda-Runtime-Trace-Id": trace_id(invocation),
    }
    client_context = decode_client_context(invocation.client_context)
    if client_context is not None:
        headers["Lambda-Runtime-Client-Context"] = client_context
    return headers


async def _next(request: web.Request) -> web.StreamResponse:
    active = await request.app[_SESSION].next_event()
    if active is None:
        return _json_error(503, "ServiceUnavailable", "The instance is shutting down")
    inv = active.invocation
    return web.Response(
        body=inv.payload or b"{}",
        headers=next_headers(inv, active.deadline_ms),
        content_type="application/json",
    )


async def _read_limited(request: web.Request) -> tuple[bytes, int]:
    """The body when it fits in 6 MB, else ``(b"", total size)`` after discarding it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size <= MAX_SYNC_PAYLOAD:
            chunks.append(chunk)
        else:
            chunks.clear()
    return (b"".join(chunks) if size <= MAX_SYNC_PAYLOAD else b""), size


async def _response(request: web.Request) -> web.Response:
    session = request.app[_SESSION]
    request_id = request.match_info["request_id"]
    body, size = await _read_limited(request)
    try:
        if size > MAX_SYNC_PAYLOAD:
            session.respond_too_large(request_id, size)
        session.respond(request_id, body)
    except RequestError as exc:
        return _refused(exc)
    return web.json_response({"status": "OK"}, status=202)


async def _error(request: web.Request) -> web.Response:
    body, _ = await _read_limited(request)
    try:
        request.app[_SESSION].fail(request.match_info["request_id"], body, request.headers.get(ERROR_TYPE_HEADER))
    except RequestError as exc:
        return _refused(exc)
    return web.json_response({"status": "OK"}, status=202)


async def _init_error(request: web.Request) -> web.Response:
    body, _ = await _read_limited(request)
    request.app[_SESSION].init_error(body, request.headers.get(ERROR_TYPE_HEADER))
    return web.json_response({"status": "OK"}, status=202)


async def _not_found(request: web.Request) -> web.Response:
    return _json_error(404, "NotFound", f"No such Runtime API route: {request.method} {request.path}")


def make_runtime_api_app(session: RuntimeSession) -> web.Application:
    app = web.Application(client_max_size=MAX_SYNC_PAYLOAD + 1)
    app[_SESSION] = session
    app.router.add_get(f"{PREFIX}/invocation/next", _next)
    app.router.add_post(f"{PREFIX}/invocation/{{request_id}}/response", _response)
    app.router.add_post(f"{PREFIX}/invocation/{{request_id}}/error", _error)
    app.router.add_post(f"{PREFIX}/init/error", _init_error)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


async def serve_app(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start ``app`` on ``host:port`` (0 = any free port); no signal handling, many per loop."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0, keepalive_timeout=3600.0)
    await runner.setup()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
        site = web.SockSite(runner, sock)
        await site.start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    return runner, sock.getsockname()[1]
