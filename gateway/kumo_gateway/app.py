"""The gateway's ASGI application: health, the Lambda Invoke API and Api routes."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kumo.catalog import Catalog
from kumo_gateway.admin import AdminHandler
from kumo_gateway.apigateway.endpoint import ApiHandler, to_starlette
from kumo_gateway.apigateway.gateway_responses import internal_server_error
from kumo_gateway.apigateway.limits import Limits
from kumo_gateway.async_.enqueue import Enqueuer
from kumo_gateway.async_.store import AsyncStore
from kumo_gateway.auth.admin_token import bearer_matches
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.auth.local_store import LocalKeyStore
from kumo_gateway.concurrency.reservations import Reservations
from kumo_gateway.concurrency.rules import DEFAULT_ACCOUNT_LIMIT
from kumo_gateway.dispatch import CONCURRENCY_VERSIONS, HEALTH_PATH, LAMBDA_VERSION, HotPathDispatcher
from kumo_gateway.ids import new_request_id
from kumo_gateway.lambda_.concurrency_api import ConcurrencyHandler
from kumo_gateway.lambda_.errors import service_error
from kumo_gateway.lambda_.event_invoke_config import EVENT_CONFIG_VERSION, EventInvokeConfigHandler
from kumo_gateway.lambda_.invoke import InvokeHandler
from kumo_gateway.lambda_.management import ManagementHandler, VersionBackend
from kumo_gateway.metrics import CONTENT_TYPE, METRICS_PATH, GatewayMetrics
from kumo_gateway.provider import Provider

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from kumo_gateway.apigateway.authorizers.secrets import SecretSource
    from kumo_gateway.dynamodb.table_directory import TableDirectory
    from kumo_gateway.lambda_.function_writer import FunctionView, FunctionWriter
    from kumo_gateway.lambda_.layer_versions import LayerVersionStore

LAMBDA_PREFIX = f"/{LAMBDA_VERSION}"
_HEALTHY = b'{"status":"ok"}'


async def healthz(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


async def _unhandled(request: Request, exc: Exception) -> Response:
    """Last resort for an exception no handler caught: an error in the protocol's shape, no trace."""
    if request.url.path.startswith(LAMBDA_PREFIX):
        return service_error("An internal error occurred.", new_request_id())
    return to_starlette(internal_server_error(), new_request_id())


def _any_method(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """A route for every HTTP method (Starlette defaults function endpoints to GET)."""
    route = Route(path, endpoint, include_in_schema=False)
    route.methods = None
    # A decoded path may hold any character, a newline too (``%0A``): match it, so that such a request gets
    # its surface's own 404 instead of the framework's ``{"detail": "Not Found"}``.
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    return route


def create_app(
    catalog: Catalog,
    provider: Provider,
    *,
    auth: Auth,
    telemetry: bool = False,
    tables: TableDirectory | None = None,
    admin: bool = False,
    admin_token: str | None = None,
    keys: LocalKeyStore | None = None,
    rng: random.Random | None = None,
    versions: VersionBackend | None = None,
    redis: Redis | None = None,
    secrets: SecretSource | None = None,
    concurrency_limit: int = DEFAULT_ACCOUNT_LIMIT,
    layers: LayerVersionStore | None = None,
    functions: FunctionWriter | None = None,
    function_view: FunctionView | None = None,
    code_store_url: str | None = None,
) -> FastAPI:
    """The gateway app; its lifespan starts and stops ``provider``.

    ``auth`` checks every Lambda and DynamoDB API request (SigV4 against issued access keys:
    :class:`kumo_gateway.auth.authenticator.Authenticator`); serving without authentication is the
    explicit choice ``auth=NO_AUTH``. Api routes are public (as API Gateway's without an authorizer).

    Handlers are plain Starlette endpoints (no per-request validation) for a lean hot path.
    ``telemetry`` turns on FastAPI's built-in OpenTelemetry (where the FastAPI version has it); off
    by default because its per-request checks cost more than the gateway's own work.
    ``tables``, when given, serves DynamoDB's JSON protocol (``POST /`` with ``X-Amz-Target``).
    ``admin`` serves the admin API under ``/_kumo/`` (local mode: it changes the in-memory catalog),
    for callers with ``admin_token``; ``keys`` is the access-key store it manages.
    ``rng`` is where canary draws come from (tests pass a seeded one).
    ``versions`` publishes versions and keeps aliases (without it the management API only reads).
    ``redis`` is the state gateway replicas share (API keys, token buckets, quotas, the authorizer
    cache); the app closes it when it stops. ``secrets`` is where HS256 JWT authorizers read their
    secret (default: environment variables, ``kumo_gateway.apigateway.authorizers.secrets``).
    ``concurrency_limit`` is the account's concurrent executions; with ``redis`` every invocation takes
    a lease (:mod:`kumo_gateway.concurrency`) against it and the function's reserved concurrency
    (0: no limit, no leases). ``functions`` creates and changes functions through the management API
    (CreateFunction, UpdateFunctionCode, tags …; local mode's ``local/api_functions.py``);
    ``function_view`` shows the functions' ``State`` where there is no writer (a cluster without a code store).
    ``code_store_url``: the cluster's code store, reached for ``kumo deploy``
    through ``/_kumo/packages/<sha256>`` (:mod:`kumo_gateway.code_store_upload`).
    Metrics are served at ``/metrics`` (:mod:`kumo_gateway.metrics`) to holders of ``admin_token``
    (to everyone only when ``auth`` is ``NO_AUTH``).
    """
    router = None
    if tables is not None:
        from kumo_gateway.dynamodb.router import DynamoRouter

        router = DynamoRouter(tables, redis=redis)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await provider.start()
        publisher = None
        if redis is not None:  # the event sources, for the workers' schedulers and queue pollers
            from kumo_gateway.event_sources import publish_sources

            publisher = asyncio.create_task(publish_sources(catalog, redis), name="event-sources")
        if router is not None:
            router.start_index_feeder()
        try:
            yield
        finally:
            if publisher is not None:
                publisher.cancel()
                await asyncio.gather(publisher, return_exceptions=True)
            await provider.stop()
            if router is not None:
                await router.close()
            limits.close()
            await uploads.close()
            if redis is not None:
                await redis.aclose()

    options: dict[str, Any] = {}
    if not telemetry and "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        options["telemetry"] = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(title="Kumo gateway", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan, **options)
    metrics = GatewayMetrics(getattr(provider, "instance_counts", None))
    calls = provider
    reservations = Reservations(redis)  # PutFunctionConcurrency's, over the manifests' spec.concurrency.reserved
    if redis is not None and concurrency_limit > 0:
        from kumo_gateway.concurrency.gate import ConcurrencyGate
        from kumo_gateway.concurrency.lease_store import LeaseStore

        calls = ConcurrencyGate(provider, catalog, LeaseStore(redis), concurrency_limit, reservations)
    async_store = AsyncStore(redis) if redis is not None else None
    enqueuer = Enqueuer(async_store) if async_store is not None else None
    invoke = InvokeHandler(catalog, calls, auth, enqueuer)
    limits = Limits(redis, metrics, leases=calls if calls is not provider else None)  # type: ignore[arg-type]
    apis = ApiHandler(
        catalog, calls, rng=rng, metrics=metrics, redis=redis, secrets=secrets, limits=limits, enqueuer=enqueuer
    )
    app.router.add_route(HEALTH_PATH, healthz, methods=["GET"], include_in_schema=False)

    auth.observe_failures(lambda service, code: metrics.auth_failures.labels(service, code).inc())

    async def metrics_endpoint(request: Request) -> Response:
        # Function names and traffic are not for everyone: the admin token, unless auth is off altogether.
        if auth.enabled and not (admin_token and bearer_matches(request.headers.get("authorization"), admin_token)):
            return Response(
                b'{"message":"Unauthorized: /metrics needs Authorization: Bearer <admin token>"}',
                401,
                {"WWW-Authenticate": 'Bearer realm="kumo-metrics"'},
                media_type="application/json",
            )
        if async_store is not None:
            with contextlib.suppress(Exception):  # metrics must answer even when Redis does not
                metrics.async_events.update(await async_store.stats())
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    app.router.add_route(METRICS_PATH, metrics_endpoint, methods=["GET"], include_in_schema=False)
    # Invoke and Api requests are routed by the dispatcher; these routes catch what falls through
    # (Lambda management operations, unknown ones, other methods on /healthz).
    from kumo_gateway.code_store_upload import PATH_PREFIX, CodeStoreUpload

    uploads = CodeStoreUpload(code_store_url, admin_token)
    app.router.routes.append(_any_method(f"{PATH_PREFIX}/packages/{{rest:path}}", uploads.handle))
    management = ManagementHandler(
        catalog, versions, auth=auth, writer=functions, view=function_view, reservations=reservations
    )
    app.router.routes.append(_any_method(f"{LAMBDA_PREFIX}/{{rest:path}}", management.handle))
    if functions is not None:  # TagResource, UntagResource, ListTags
        from kumo_gateway.lambda_.tags_api import TAGS_PREFIX, TagsHandler

        tags = TagsHandler(catalog, functions, auth=auth)
        app.router.routes.append(_any_method(f"{TAGS_PREFIX}{{rest:path}}", tags.handle))
    if layers is not None:  # PublishLayerVersion, ListLayers, … (local: the state dir; cluster: code store)
        from kumo_gateway.lambda_.layers_api import LAYERS_PREFIX, LayersHandler

        layer_api = LayersHandler(layers, auth=auth, region=catalog.region, account_id=catalog.account_id)
        app.router.routes.append(_any_method(f"{LAYERS_PREFIX}{{rest:path}}", layer_api.handle))
    event_configs = EventInvokeConfigHandler(catalog, async_store, auth=auth)
    concurrency_api = ConcurrencyHandler(
        catalog,
        reservations,
        concurrency_limit,
        auth=auth,
        code_size=lambda name: management.backend.latest(name).code_size,
    )
    for version in CONCURRENCY_VERSIONS:
        app.router.routes.append(_any_method(f"/{version}/{{rest:path}}", concurrency_api.handle))
    app.router.routes.append(_any_method(f"/{EVENT_CONFIG_VERSION}/{{rest:path}}", event_configs.handle))
    app.router.routes.append(_any_method("/{rest:path}", apis.handle))
    admin_handler = (
        AdminHandler(catalog, admin_token or "", keys, api_keys=limits.store, async_store=async_store)
        if admin
        else None
    )
    app.add_middleware(HotPathDispatcher, invoke=invoke, apis=apis, admin=admin_handler)
    if router is not None:
        from kumo_gateway.dynamodb.endpoint import DynamoDBMiddleware, DynamoEndpoint

        endpoint = DynamoEndpoint(router, auth, region=catalog.region, account_id=catalog.account_id)
        app.add_middleware(DynamoDBMiddleware, endpoint=endpoint)
        app.state.fast_lane = endpoint  # served without ASGI by kumo_gateway.server
    if redis is not None:  # Kumo queues (SQS's JSON protocol on POST /) live in the shared Redis
        from kumo_gateway.sqs.endpoint import SqsEndpoint, SqsMiddleware
        from kumo_gateway.sqs.queue_store import QueueStore

        queues = SqsEndpoint(QueueStore(redis), auth, region=catalog.region, account_id=catalog.account_id)
        app.add_middleware(SqsMiddleware, endpoint=queues)
    app.add_exception_handler(Exception, _unhandled)
    app.state.catalog = catalog
    app.state.provider = provider
    app.state.calls = calls  # the provider behind the concurrency gate (when there is one)
    app.state.metrics = metrics
    app.state.redis = redis
    app.state.limits = limits
    return app


async def serve_gateway(
    catalog: Catalog,
    provider: Provider,
    tables: TableDirectory,
    host: str,
    port: int,
    *,
    auth: Auth,
    name: str,
    on_ready: Callable[[], None] | None = None,
    admin: bool = False,
    admin_token: str | None = None,
    keys: LocalKeyStore | None = None,
    versions: VersionBackend | None = None,
    redis_url: str | None = None,
    secrets: SecretSource | None = None,
    allowed_hosts: frozenset[str] | None = None,
    concurrency_limit: int = DEFAULT_ACCOUNT_LIMIT,
    layers: LayerVersionStore | None = None,
    functions: FunctionWriter | None = None,
    function_view: FunctionView | None = None,
    code_store_url: str | None = None,
) -> int:
    """The process body both providers share (``kumo up``, ``kumo gateway --kubernetes``): start the
    table directory, serve the app until SIGINT/SIGTERM, then stop the provider and the tables.

    ``admin`` serves the admin API (``kumo_gateway.admin``; local mode only). ``redis_url``: the
    shared state's Redis (local mode's private one, the chart's in a cluster). ``allowed_hosts``: the
    Host allow-list (local mode; ``None`` serves any Host).
    Returns the process exit code: 1 when the tables or the server could not start, else 0.
    """
    from kumo_gateway.server import serve_until_signalled

    try:
        await tables.start()
    except Exception as exc:
        print(f"{name}: could not start the tables: {exc}", file=sys.stderr)
        await tables.stop()
        return 1
    redis = None
    if redis_url is not None:
        from redis.asyncio import Redis

        redis = Redis.from_url(redis_url)
    app = create_app(
        catalog,
        provider,
        auth=auth,
        tables=tables,
        admin=admin,
        admin_token=admin_token,
        keys=keys,
        versions=versions,
        redis=redis,
        secrets=secrets,
        concurrency_limit=concurrency_limit,
        layers=layers,
        functions=functions,
        function_view=function_view,
        code_store_url=code_store_url,
    )
    try:
        return await serve_until_signalled(app, host, port, on_ready=on_ready, name=name, allowed_hosts=allowed_hosts)
    finally:
        await provider.stop()
        await tables.stop()
