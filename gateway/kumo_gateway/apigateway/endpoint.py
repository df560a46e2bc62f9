"""Api routes: ``ANY /{api}/{stage}/{path...}`` -> route match -> Lambda proxy event -> function.

Each Api's routes are compiled once and recompiled when the catalog holds a new Api object.
Payload formats plug in through :data:`PAYLOAD_FORMATS` (event builder + result mapper).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from kumo.catalog import Catalog
from kumo.models.api import DEFAULT_STAGE
from kumo.runtime.invocation import MAX_SYNC_PAYLOAD, Invocation
from kumo_gateway.apigateway import (
    access_log,
    cors,
    event_v1,
    event_v2,
    request_parts,
    response_v1,
    response_v2,
    stages,
)
from kumo_gateway.apigateway.authorizers.gate import Authorizers
from kumo_gateway.apigateway.cors import CorsRules
from kumo_gateway.apigateway.gateway_responses import (
    HttpResponse,
    accepted,
    bad_gateway,
    internal_server_error,
    not_found,
    request_too_large,
    service_unavailable,
    too_many_requests,
)
from kumo_gateway.apigateway.integration import DEFAULT_TIMEOUT_S, Integration, IntegrationTimeout, endpoint_timed_out
from kumo_gateway.apigateway.route_matching import RouteTable, compile_routes
from kumo_gateway.async_.enqueue import MAX_EVENT_PAYLOAD
from kumo_gateway.bodies import read_body
from kumo_gateway.ids import new_request_id
from kumo_gateway.provider import FunctionNotFound, InstanceUnavailable, Provider, TooManyRequests

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from kumo.models import Api
    from kumo_gateway.apigateway.authorizers.secrets import SecretSource
    from kumo_gateway.apigateway.limits import Limits
    from kumo_gateway.async_.enqueue import Enqueuer
    from kumo_gateway.metrics import GatewayMetrics

log = logging.getLogger("kumo.gateway")

LATEST = "$LATEST"
#: API Gateway HTTP APIs accept request payloads up to 10 MB (the event must still fit Lambda's 6 MB).
MAX_API_PAYLOAD = 10 * 1024 * 1024

EventBuilder = Callable[[event_v2.HttpRequest, event_v2.RequestContext], dict[str, Any]]
ResultMapper = Callable[[bytes, "str | None"], HttpResponse]
#: payload format version -> (event builder, result mapper).
PAYLOAD_FORMATS: dict[str, tuple[EventBuilder, ResultMapper]] = {
    "2.0": (event_v2.build_event, response_v2.map_result),
    "1.0": (event_v1.build_event, response_v1.map_result),
}


@dataclass(frozen=True)
class CompiledApi:
    api: Api
    routes: RouteTable
    #: stage name -> its variables and canary.
    stages: dict[str, stages.CompiledStage]
    payload_format: str
    #: ``binaryMediaTypes``: request bodies of these content types reach the function base64-encoded.
    binary_media_types: tuple[str, ...] = ()
    #: The Api's CORS rules (None: no CORS, the gateway adds no CORS header and answers no preflight).
    cors: CorsRules | None = None


def compile_api(api: Api) -> CompiledApi:
    compiled_stages = {stage.name: stages.compile_stage(stage) for stage in api.spec.stages} or {
        DEFAULT_STAGE: stages.CompiledStage(DEFAULT_STAGE, stages.Side({}, None), None, 0.0)
    }
    table = compile_routes(list(api.spec.routes))
    for error in table.errors:
        log.warning("Api %s: route skipped: %s", api.metadata.name, error)
    binary = tuple(api.spec.binary_media_types)
    rules = cors.rules_from(getattr(api.spec, "cors", None))
    return CompiledApi(api, table, compiled_stages, str(api.spec.payload_format), binary, rules)


def split_api_path(raw_path: str) -> tuple[str, str, str] | None:
    """``/api/stage/rest`` -> ``("api", "stage", "/rest")`` (rest raw, ``""`` when absent)."""
    parts = raw_path.split("/", 3)
    if len(parts) < 3 or not parts[1] or not parts[2]:
        return None
    rest = "/" + parts[3] if len(parts) == 4 else ""
    return unquote(parts[1]), unquote(parts[2]), rest


def to_starlette(response: HttpResponse, request_id: str) -> Response:
    try:
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
    except UnicodeEncodeError:
        log.warning("function response has a header that is not latin-1; answering 502")
        return to_starlette(bad_gateway(), request_id)
    out = Response(response.body, status_code=response.status)
    out.raw_headers.extend(raw)
    out.raw_headers.append((b"apigw-requestid", request_id.encode("ascii")))
    return out


class ApiHandler:
    """Answers requests for every Api in the catalog."""

    def __init__(
        self,
        catalog: Catalog,
        provider: Provider,
        *,
        rng: random.Random | None = None,
        metrics: GatewayMetrics | None = None,
        redis: Redis | None = None,
        secrets: SecretSource | None = None,
        limits: Limits | None = None,
        enqueuer: Enqueuer | None = None,
    ) -> None:
        self.catalog = catalog
        #: Queues the events of ``async: true`` routes (None: no Redis, such routes answer 500).
        self.enqueuer = enqueuer
        #: API keys, usage plans and throttles (:mod:`kumo_gateway.apigateway.limits`).
        self.limits = limits
        self.provider = provider
        self.metrics = metrics
        #: Where canary draws come from (tests inject a seeded one).
        self.rng = rng or stages.RNG
        self.integration = Integration(provider)
        self.authorizers = Authorizers(catalog, self.integration, redis=redis, secrets=secrets, metrics=metrics)
        self._compiled: dict[str, CompiledApi] = {}

    def compiled(self, name: str) -> CompiledApi | None:
        api = self.catalog.api(name)
        if api is None:
            self._compiled.pop(name, None)
            return None
        entry = self._compiled.get(name)
        if entry is None or entry.api is not api:
            entry = self._compiled[name] = compile_api(api)
        return entry

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        started = time.perf_counter()
        note = access_log.RequestNote()
        try:
            response = await self._handle(request, request_id, note)
        except ClientDisconnect:
            return Response(status_code=400)
        except Exception:
            log.exception("request %s %s failed unexpectedly (%s)", request.method, request.url.path, request_id)
            response = internal_server_error()
        header = access_log.canary_header(note)
        if header is not None:
            response.headers.append(header)
        elapsed = time.perf_counter() - started
        if access_log.enabled():
            access_log.log_request(request.method, request.scope["path"], response.status, elapsed, note, request_id)
        if self.metrics is not None and note.api is not None:  # unknown Apis make no series
            self.metrics.observe("api", response.status, elapsed, note.api, note.stage or "", note.route or "")
        rules = self._cors_rules(request)
        if rules is not None and not cors.is_preflight(request.method, request.headers):
            response = cors.apply(rules, request.headers.get("origin"), response)
        return to_starlette(response, request_id)

    async def _enqueue(
        self, where: str, function: str, qualifier: str | None, version: str, invocation: Invocation
    ) -> HttpResponse:
        """An ``async: true`` route: queue the event (durably in Redis) and answer 202."""
        found = self.catalog.function(function)
        if self.enqueuer is None or found is None:
            log.warning("%s: async route without %s", where, "the platform's Redis" if found else function)
            return internal_server_error()
        if len(invocation.payload) > MAX_EVENT_PAYLOAD:
            return request_too_large()
        arn = self.catalog.function_arn(function, qualifier)
        try:
            await self.enqueuer.enqueue(found, qualifier, version, arn, invocation.payload, invocation.request_id)
        except Exception as exc:  # nothing was accepted: the client may retry
            log.warning("%s: the event could not be queued: %s", where, exc)
            return service_unavailable()
        return accepted(invocation.request_id)

    def _cors_rules(self, request: Request) -> CorsRules | None:
        """The CORS rules of the Api the request is for, if it has any."""
        raw_path = request.scope.get("raw_path")
        parts = split_api_path(raw_path.decode("latin-1") if raw_path else request.scope["path"])
        compiled = self.compiled(parts[0]) if parts is not None else None
        return compiled.cors if compiled is not None else None

    async def _handle(self, request: Request, request_id: str, note: access_log.RequestNote) -> HttpResponse:
        scope = request.scope
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        parts = split_api_path(path)
        if parts is None:
            return not_found()
        api_name, stage, rest = parts
        compiled = self.compiled(api_name)
        if compiled is None:
            return not_found()
        compiled_stage = compiled.stages.get(stage)
        if compiled_stage is None:
            return not_found()
        note.api = api_name
        side = stages.select_side(compiled_stage, self.rng)
        note.stage, note.canary = stage, side.canary
        stage_variables = side.variables
        method = request.method
        if compiled.cors is not None and cors.is_preflight(method, request.headers):
            return cors.preflight_response(compiled.cors, request.headers)
        match = compiled.routes.match(method, rest or "/")
        if match is None:
            return not_found()
        note.route = match.route_key
        authorizer = await self.authorizers.check(
            compiled, match, request, stage, rest, stage_variables, request_id, note
        )
        if isinstance(authorizer, HttpResponse):
            return authorizer
        route = match.route
        where = f"Api {api_name} stage {stage}{' (canary)' if side.canary else ''} route {match.route_key}"
        try:
            function, qualifier = stages.resolve_target(route.function, route.qualifier, stage_variables)
            target_error: stages.TargetError | None = None
        except stages.TargetError as exc:
            function, qualifier, target_error = None, None, exc
        # The one place a resolved target meets the catalog: a version, an alias (weighted) or $LATEST.
        resolution = self.catalog.resolve(function, qualifier) if function is not None else None
        lease = None
        if self.limits is not None:
            # The usage-plan checks and the invocation's concurrency lease: one Redis script call.
            try:
                denied, lease = await self.limits.admit(
                    compiled.api,
                    stage,
                    match.route_key,
                    request.headers,
                    note,
                    # an async route's lease is the worker's, taken when it invokes
                    function if resolution and not getattr(route, "async_", False) else None,
                )
            except TooManyRequests:
                return too_many_requests()
            if denied is not None:
                return denied
        try:
            payload_format = PAYLOAD_FORMATS.get(compiled.payload_format)
            if payload_format is None:
                log.error("Api %s: payload format %r is not supported", api_name, compiled.payload_format)
                return internal_server_error()
            build_event, map_result = payload_format

            body = await read_body(request, MAX_API_PAYLOAD)
            if body is None:
                return request_too_large()
            http_request = request_parts.http_request(scope, stage, rest, body=body)
            context = request_parts.request_context(
                self.catalog.account_id,
                api_name,
                stage,
                match,
                request_id,
                stage_variables,
                binary_media_types=compiled.binary_media_types,
                authorizer=authorizer,
            )
            payload = json.dumps(build_event(http_request, context), separators=(",", ":")).encode()
            if len(payload) > MAX_SYNC_PAYLOAD:
                return request_too_large()

            route = match.route
            if target_error is not None or function is None:
                target = stages.describe_target(route.function, route.qualifier)
                log.warning("%s: target %s: %s", where, target, target_error)
                return internal_server_error()
            if resolution is None:
                log.warning("%s: function %s not found", where, stages.describe_target(function, qualifier))
                return internal_server_error()
            invocation = Invocation(
                request_id=new_request_id(),
                payload=payload,
                invoked_function_arn=self.catalog.function_arn(function, qualifier),
                trace_id=request.headers.get("x-amzn-trace-id"),
            )
            timeout_s = getattr(route, "timeout", None) or DEFAULT_TIMEOUT_S
            note.version = resolution.version
            if getattr(route, "async_", False):
                return await self._enqueue(where, function, qualifier, resolution.version, invocation)
            try:
                result = await self.integration.invoke(function, resolution.version, invocation, timeout_s, lease)
            except IntegrationTimeout:
                log.warning(
                    "%s: no answer from %s within %gs: 504 (the invocation runs on)", where, function, timeout_s
                )
                return endpoint_timed_out()
            except FunctionNotFound:
                log.warning("%s: function %s not found", where, function)
                return internal_server_error()
            except TooManyRequests:
                return too_many_requests()
            except InstanceUnavailable as exc:
                log.warning("Api %s route %s: no instance: %s", api_name, match.route_key, exc)
                return service_unavailable()
            return map_result(result.payload, result.function_error)
        finally:
            if lease is not None and not lease.handed:
                lease.release()  # not the gate's yet (the gate gives back what it was handed)
