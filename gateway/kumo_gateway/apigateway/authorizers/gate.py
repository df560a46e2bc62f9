"""The endpoint's one call: run a route's authorizer, answer the denial or the data for the event.

``Authorizers.check`` returns None (the route has no authorizer), an :class:`HttpResponse` (401
``{"message":"Unauthorized"}`` without a token or identity source, 403 ``{"message":"Forbidden"}`` for a
token that does not verify or a Deny, 500 ``{"message":"Internal Server Error"}`` when the authorizer
itself fails), or the ``requestContext.authorizer`` value for the target's event. It reads no body.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from kumo.runtime.invocation import Invocation
from kumo_gateway.apigateway import access_log, event_v2, request_parts
from kumo_gateway.apigateway.authorizers import identity, jwt_verify, lambda_events
from kumo_gateway.apigateway.authorizers.cache import DecisionCache, cache_key
from kumo_gateway.apigateway.authorizers.jwks import JwksCache, KeysUnavailable, parse_jwks
from kumo_gateway.apigateway.authorizers.secrets import LocalSecrets, SecretSource
from kumo_gateway.apigateway.gateway_responses import HttpResponse, internal_server_error, message_response
from kumo_gateway.apigateway.integration import Integration, IntegrationTimeout
from kumo_gateway.ids import new_request_id
from kumo_gateway.provider import FunctionNotFound, InstanceUnavailable, TooManyRequests

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from starlette.requests import Request

    from kumo.catalog import Catalog
    from kumo_gateway.metrics import GatewayMetrics

log = logging.getLogger("kumo.gateway")

#: API Gateway gives a Lambda authorizer 10 seconds.
AUTHORIZER_TIMEOUT_S = 10.0


def unauthorized() -> HttpResponse:
    return message_response(401, "Unauthorized")


def forbidden() -> HttpResponse:
    return message_response(403, "Forbidden")


class Authorizers:
    def __init__(
        self,
        catalog: Catalog,
        integration: Integration,
        *,
        redis: Redis | None = None,
        secrets: SecretSource | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.catalog = catalog
        self.integration = integration
        self.secrets: SecretSource = secrets or LocalSecrets()
        self.metrics = metrics
        self.cache = DecisionCache(redis)
        self._jwks: dict[str, JwksCache] = {}
        self._inline: dict[int, tuple[Any, list[Any]]] = {}

    async def check(
        self,
        compiled: Any,
        match: Any,
        request: Request,
        stage: str,
        rest: str,
        stage_variables: dict[str, str],
        request_id: str,
        note: access_log.RequestNote,
    ) -> HttpResponse | dict[str, Any] | None:
        """None: the route has no authorizer; an answer (401, 403, 500): refused; else the
        ``requestContext.authorizer`` the route's event gets. ``rest``: the raw path after the stage."""
        name = getattr(match.route, "authorizer", None)
        if name is None:
            return None
        api_name = compiled.api.metadata.name
        spec = (getattr(compiled.api.spec, "authorizers", None) or {}).get(name)
        if spec is None:
            log.error("Api %s route %s: authorizer %r is not defined", api_name, match.route_key, name)
            return self._outcome(note, "error", internal_server_error())
        headers = request_parts.scope_headers(request.scope)
        raw_query = request_parts.raw_query(request.scope)
        context_vars = {"requestId": request_id, "stage": stage, "routeKey": match.route_key, "apiId": api_name}
        values = identity.resolve(spec.identity_source, headers, raw_query, context_vars, stage_variables)
        if values is None:
            return self._outcome(note, "deny", unauthorized())
        where = f"Api {api_name} route {match.route_key} authorizer {name}"
        if spec.type == "jwt":
            namespace = getattr(compiled.api.metadata, "namespace", None)
            return await self._jwt(spec, values[0], match, compiled.payload_format, note, where, namespace)
        context = request_parts.request_context(
            self.catalog.account_id, api_name, stage, match, request_id, stage_variables
        )
        http_request = request_parts.http_request(request.scope, stage, rest, headers=headers)
        return await self._function(spec, name, values, http_request, context, compiled.payload_format, note, where)

    # JWT

    async def _jwt(
        self,
        spec: Any,
        value: str,
        match: Any,
        payload_format: str,
        note: access_log.RequestNote,
        where: str,
        namespace: str | None,
    ) -> HttpResponse | dict[str, Any]:
        try:
            token = jwt_verify.token_from(value)
            header = jwt_verify.header_of(token)
            if spec.secret_ref is not None:
                secret = await self.secrets.get(spec.secret_ref.name, spec.secret_ref.key, namespace)
                if secret is None:
                    log.error("%s: secret %s/%s not found", where, spec.secret_ref.name, spec.secret_ref.key)
                    return self._outcome(note, "error", internal_server_error())
                key, algorithms = secret, jwt_verify.SYMMETRIC_ALGORITHMS
            else:
                jwk = jwt_verify.pick_key(header, await self._keys(spec, header.get("kid")))
                key, algorithms = jwk.key, (jwk.algorithm_name,)
            claims = jwt_verify.verify(token, key, algorithms, issuer=spec.issuer, audience=spec.audience)
            scopes = jwt_verify.scopes_of(claims)
            jwt_verify.check_scopes(scopes, getattr(match.route, "authorization_scopes", None))
        except jwt_verify.Unauthorized:
            return self._outcome(note, "deny", unauthorized())
        except jwt_verify.Forbidden as exc:
            log.info("%s: 403: %s", where, exc)
            return self._outcome(note, "deny", forbidden())
        except KeysUnavailable as exc:
            log.error("%s: %s", where, exc)
            return self._outcome(note, "error", internal_server_error())
        note.authorizer = "allow"
        strings = jwt_verify.claim_strings(claims)
        if payload_format == "1.0":
            return {"claims": strings, "scopes": scopes}
        return {"jwt": {"claims": strings, "scopes": scopes}}

    async def _keys(self, spec: Any, kid: Any) -> list[Any]:
        if spec.jwks.keys is not None:
            cached = self._inline.get(id(spec))
            if cached is None or cached[0] is not spec:
                cached = self._inline[id(spec)] = (spec, parse_jwks(spec.jwks.keys))
            return cached[1]
        cache = self._jwks.get(spec.jwks.uri)
        if cache is None:
            cache = self._jwks[spec.jwks.uri] = JwksCache(spec.jwks.uri)
        return await cache.get(kid if isinstance(kid, str) else None)

    # Lambda

    async def _function(
        self,
        spec: Any,
        name: str,
        values: list[str],
        http_request: event_v2.HttpRequest,
        context: event_v2.RequestContext,
        payload_format: str,
        note: access_log.RequestNote,
        where: str,
    ) -> HttpResponse | dict[str, Any]:
        arn = lambda_events.route_arn(
            self.catalog.region, context.account_id, context.api_id, context.stage, context.route_key
        )
        key = cache_key(context.api_id, name, values) if spec.ttl > 0 else None
        decision = await self.cache.get(key) if key is not None else None
        if self.metrics is not None:
            self.metrics.authorizer_cache.labels(context.api_id, name, "miss" if decision is None else "hit").inc()
        if decision is None:
            event = lambda_events.build_event(spec.payload_format, http_request, context, arn, values)
            try:
                decision = await self._invoke(spec, event, where)
            except lambda_events.BadAuthorizerResponse as exc:
                log.warning("%s: the authorizer failed: %s: 500", where, exc)
                return self._outcome(note, "error", internal_server_error())
            if key is not None:
                await self.cache.put(key, decision, spec.ttl)
        if not decision.allows(arn):
            return self._outcome(note, "deny", forbidden())
        note.authorizer = "allow"
        return lambda_events.target_authorizer(payload_format, decision)

    async def _invoke(self, spec: Any, event: dict[str, Any], where: str) -> lambda_events.Decision:
        function, _, qualifier = spec.function.partition(":")
        resolution = self.catalog.resolve(function, qualifier or None)
        if resolution is None:
            raise lambda_events.BadAuthorizerResponse(f"function {spec.function} not found")
        invocation = Invocation(
            request_id=new_request_id(),
            payload=json.dumps(event, separators=(",", ":")).encode(),
            invoked_function_arn=self.catalog.function_arn(function, qualifier or None),
        )
        try:
            result = await self.integration.invoke(function, resolution.version, invocation, AUTHORIZER_TIMEOUT_S)
        except IntegrationTimeout:
            raise lambda_events.BadAuthorizerResponse("no answer within 10s") from None
        except (FunctionNotFound, TooManyRequests, InstanceUnavailable) as exc:
            raise lambda_events.BadAuthorizerResponse(f"not invoked: {exc!r}") from None
        if result.function_error is not None:
            raise lambda_events.BadAuthorizerResponse(f"function error {result.function_error}")
        simple = spec.enable_simple_responses and spec.payload_format == "2.0"
        return lambda_events.parse_response(result.payload, simple)

    def _outcome(self, note: access_log.RequestNote, result: str, response: HttpResponse) -> HttpResponse:
        note.authorizer = result
        if self.metrics is not None and response.status in (401, 403):
            reason = "Unauthorized" if response.status == 401 else "Forbidden"
            self.metrics.auth_failures.labels("api", reason).inc()
        return response
