"""The gateway's hot-path router: a pure ASGI middleware in front of the framework's router.

Invoke calls and Api requests go straight to their handlers (one string split, no route regexes,
no per-route exception wrappers); everything else (``/healthz``, unknown Lambda operations) falls
through to the FastAPI routes. The framework's outer error middleware still wraps it all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from kumo_gateway.admin import ADMIN_SEGMENT, AdminHandler
from kumo_gateway.apigateway.endpoint import ApiHandler
from kumo_gateway.lambda_.invoke import InvokeHandler
from kumo_gateway.metrics import METRICS_PATH

#: Path segment of the Lambda API (its version date).
LAMBDA_VERSION = "2015-03-31"
#: The API version of Lambda's layer calls (`/2018-10-31/layers/...`).
LAYERS_VERSION = "2018-10-31"
HEALTH_PATH = "/healthz"
#: The API version of Lambda's tag calls (`/2017-03-31/tags/{ARN}`).
TAGS_VERSION = "2017-03-31"
#: Path segment of Lambda's event-invoke-config operations.
EVENT_CONFIG_VERSION = "2019-09-25"

#: Path segments of Lambda's concurrency operations (PutFunctionConcurrency, GetFunctionConcurrency,
#: GetAccountSettings: kumo_gateway.lambda_.concurrency_api).
CONCURRENCY_VERSIONS = ("2017-10-31", "2019-09-30", "2016-08-19")

Handler = Callable[[Request], Awaitable[Response]]


def pick_handler(
    method: str, path: str, invoke: Handler, api: Handler, admin: Handler | None = None
) -> tuple[Handler, str | None] | None:
    """``(handler, function name or None)`` for a hot path, None to fall through to the framework."""
    if path in (HEALTH_PATH, METRICS_PATH):
        return None
    parts = path.split("/", 5)
    if len(parts) > 1 and (parts[1] == EVENT_CONFIG_VERSION or parts[1] in CONCURRENCY_VERSIONS):
        return None  # event-invoke configs: a framework route (kumo_gateway.lambda_.event_invoke_config)
    if len(parts) > 1 and parts[1] == LAMBDA_VERSION:
        if method == "POST" and len(parts) == 5 and parts[2] == "functions" and parts[4] == "invocations" and parts[3]:
            return invoke, parts[3]
        return None
    if len(parts) > 2 and parts[1] == TAGS_VERSION and parts[2] == "tags":
        return None  # Lambda's tag calls (local mode: kumo_gateway.lambda_.tags_api)
    if len(parts) > 2 and parts[1] == LAYERS_VERSION and parts[2] == "layers":
        return None  # Lambda's layer calls (kumo_gateway.lambda_.layers_api where a layer store is; else the catch-all)
    if len(parts) > 2 and parts[1] == ADMIN_SEGMENT and parts[2] == "packages":
        return None  # the code store's uploads: a framework route (kumo_gateway.code_store_upload)
    if admin is not None and len(parts) > 1 and parts[1] == ADMIN_SEGMENT:
        return admin, None
    return api, None


class HotPathDispatcher:
    def __init__(
        self, app: ASGIApp, invoke: InvokeHandler, apis: ApiHandler, admin: AdminHandler | None = None
    ) -> None:
        self.app = app
        self.invoke = invoke.invoke
        self.api = apis.handle
        self.admin = admin.handle if admin is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            picked = pick_handler(scope["method"], scope["path"], self.invoke, self.api, self.admin)
            if picked is not None:
                handler, function_name = picked
                if function_name is not None:
                    scope["path_params"] = {"function_name": function_name}
                response = await handler(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
