"""`AWS::Serverless::Api` / `AWS::Serverless::HttpApi` (and SAM's implicit Apis) -> Kumo `Api` (pure).

An Api gets the routes its functions' events declare (collected by :mod:`kumo.sam.events`); REST
Apis (`AWS::Serverless::Api`, `Api` events) use payload format 1.0, HTTP Apis 2.0 unless an event
says `PayloadFormatVersion: "1.0"`.
"""

from __future__ import annotations

from typing import Any

from kumo.sam.loader import TemplateError
from kumo.sam.names import function_from_arn
from kumo.sam.state import Build, ImplicitApi, Resource, as_int

HTTP_HANDLED = {"StageName", "StageVariables", "CorsConfiguration", "Auth", "DefaultRouteSettings", "Name"}
HTTP_HANDLED |= {"Description", "Tags", "FailOnWarnings"}
REST_HANDLED = {"StageName", "Variables", "Cors", "Auth", "Name", "Description", "Tags", "EndpointConfiguration"}
REST_HANDLED |= {"BinaryMediaTypes"}
REASONS = {
    "DefinitionBody": "OpenAPI definitions are not read by Kumo; routes come from the functions' events",
    "DefinitionUri": "OpenAPI definitions are not read by Kumo; routes come from the functions' events",
    "Domain": "Kumo serves Apis on its own address; custom domains are not mapped",
    "AccessLogSettings": "Kumo writes its own access log (docs/observability.md)",
    "AccessLogSetting": "Kumo writes its own access log (docs/observability.md)",
    "TracingEnabled": "Kumo has no X-Ray tracing",
    "GatewayResponses": "Kumo answers API Gateway's default gateway responses",
    "CacheClusterEnabled": "Kumo has no API cache",
}


def _unquote(value: Any) -> str:
    """REST Api CORS values are quoted strings (`"'*'"`)."""
    text = str(value).strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


def _split(value: Any) -> list[str]:
    return [part.strip() for part in _unquote(value).split(",") if part.strip()]


def _http_cors(value: Any) -> dict[str, Any] | None:
    if value is True or value == "true":
        return {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"]}
    if not isinstance(value, dict):
        return None
    keys = {
        "AllowOrigins": "allowOrigins",
        "AllowMethods": "allowMethods",
        "AllowHeaders": "allowHeaders",
        "ExposeHeaders": "exposeHeaders",
    }
    cors: dict[str, Any] = {kumo: list(value[sam]) for sam, kumo in keys.items() if sam in value}
    if "AllowCredentials" in value:
        cors["allowCredentials"] = bool(value["AllowCredentials"])
    if "MaxAge" in value:
        cors["maxAge"] = as_int(value["MaxAge"], "CorsConfiguration.MaxAge")
    return cors


def _rest_cors(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        return {"allowOrigins": _split(value), "allowMethods": ["*"], "allowHeaders": ["*"]}
    if not isinstance(value, dict):
        return None
    cors: dict[str, Any] = {"allowOrigins": _split(value.get("AllowOrigin", "'*'"))}
    cors["allowMethods"] = _split(value["AllowMethods"]) if "AllowMethods" in value else ["*"]
    cors["allowHeaders"] = _split(value["AllowHeaders"]) if "AllowHeaders" in value else ["*"]
    if "MaxAge" in value:
        cors["maxAge"] = as_int(_unquote(value["MaxAge"]), "Cors.MaxAge")
    if "AllowCredentials" in value:
        cors["allowCredentials"] = bool(value["AllowCredentials"])
    return cors


def _identity(identity: Any) -> list[str]:
    if not isinstance(identity, dict):
        return ["$request.header.Authorization"]
    sources = [f"$request.header.{h}" for h in identity.get("Headers", [])]
    sources += [f"$request.querystring.{q}" for q in identity.get("QueryStrings", [])]
    sources += [f"$stageVariables.{v}" for v in identity.get("StageVariables", [])]
    sources += [f"$context.{c}" for c in identity.get("Context", [])]
    return sources


def _http_authorizers(resource: Resource, auth: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, config in (auth.get("Authorizers") or {}).items():
        where = f"{resource.logical_id}.Auth.Authorizers.{name}"
        if not isinstance(config, dict):
            raise TemplateError(f"{where} must be a mapping")
        if "JwtConfiguration" in config:
            jwt = config["JwtConfiguration"] or {}
            issuer = str(jwt.get("issuer") or jwt.get("Issuer") or "")
            audience = jwt.get("audience") or jwt.get("Audience") or []
            identity = config.get("IdentitySource", "$request.header.Authorization")
            result[name] = {
                "type": "jwt",
                "issuer": issuer,
                "audience": [str(a) for a in audience],
                # API Gateway reads jwks_uri from the issuer's discovery document; this is its usual value.
                "jwks": {"uri": f"{issuer.rstrip('/')}/.well-known/jwks.json"},
                "identitySource": [str(identity)],
            }
        elif "FunctionArn" in config:
            authorizer: dict[str, Any] = {
                "type": "function",
                "function": function_from_arn(str(config["FunctionArn"])),
                "identitySource": _identity(config.get("Identity")),
                "payloadFormat": str(config.get("AuthorizerPayloadFormatVersion", "2.0")),
            }
            if config.get("EnableSimpleResponses"):
                authorizer["enableSimpleResponses"] = True
            identity = config.get("Identity")
            if isinstance(identity, dict) and "ReauthorizeEvery" in identity:
                authorizer["ttl"] = f"{as_int(identity['ReauthorizeEvery'], 'ReauthorizeEvery')}s"
            result[name] = authorizer
        else:
            resource.build.unmapped(where, resource.type, "an authorizer needs JwtConfiguration or FunctionArn")
    return result


def _usage_plan(resource: Resource, auth: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    plan = auth.get("UsagePlan")
    if not isinstance(plan, dict) or plan.get("CreateUsagePlan", "NONE") == "NONE":
        return []
    name = str(plan.get("UsagePlanName", f"{resource.logical_id}UsagePlan"))
    result: dict[str, Any] = {"name": name, "stages": [stage]}
    throttle = plan.get("Throttle")
    if isinstance(throttle, dict):
        rate, burst = float(throttle.get("RateLimit", 10000)), int(throttle.get("BurstLimit", 5000))
        result["throttle"] = {"rate": rate, "burst": burst}
    quota = plan.get("Quota")
    if isinstance(quota, dict):
        result["quota"] = {"limit": int(quota["Limit"]), "period": str(quota.get("Period", "DAY")).upper()}
        if "Offset" in quota:
            result["quota"]["offset"] = int(quota["Offset"])
    return [result]


def _routes(
    entry: ImplicitApi, authorizers: dict[str, Any], default_authorizer: str | None, api_key_required: bool
) -> list[dict[str, Any]]:
    routes = []
    for route in entry.routes:
        item: dict[str, Any] = {"method": route.method, "path": route.path, "function": route.function}
        extra = dict(route.extra)
        authorizer = extra.pop("authorizer", default_authorizer)
        if authorizer in authorizers:
            item["authorizer"] = authorizer
        elif "authorizationScopes" in extra:
            extra.pop("authorizationScopes")
        if extra.pop("apiKeyRequired", api_key_required):
            item["apiKeyRequired"] = True
        routes.append(item | extra)
    return routes


def map_api(resource: Resource, entry: ImplicitApi | None) -> None:
    """Add the Api manifest of an Api/HttpApi resource (an implicit one's properties are the Globals)."""
    build = resource.build
    name = build.names.names[resource.logical_id]
    http = resource.type == "AWS::Serverless::HttpApi"
    if entry is None or not entry.routes:
        reason = "no function event routes to this Api (Kumo Apis need routes)"
        build.unmapped(resource.logical_id, resource.type, reason)
        return
    stage = resource.get("StageName", "$default" if http else "Prod")
    variables = resource.get("StageVariables" if http else "Variables") or {}
    stage_spec: dict[str, Any] = {"name": str(stage)}
    if variables:
        stage_spec["variables"] = {str(k): str(v) for k, v in variables.items()}
    auth = resource.get("Auth") or {}
    spec: dict[str, Any] = {"payloadFormat": (entry.payload_format or "2.0") if http else "1.0"}
    default_authorizer = auth.get("DefaultAuthorizer") if isinstance(auth, dict) else None
    if http:
        cors = _http_cors(resource.get("CorsConfiguration"))
        authorizers = _http_authorizers(resource, auth) if isinstance(auth, dict) else {}
        settings = resource.get("DefaultRouteSettings") or {}
        if "ThrottlingRateLimit" in settings or "ThrottlingBurstLimit" in settings:
            stage_spec["throttle"] = {
                "rate": float(settings.get("ThrottlingRateLimit", 10000)),
                "burst": int(settings.get("ThrottlingBurstLimit", 5000)),
            }
        api_key_required = False
    else:
        cors = _rest_cors(resource.get("Cors"))
        authorizers = {}
        if isinstance(auth, dict) and auth.get("Authorizers"):
            build.unmapped(
                f"{resource.logical_id}.Auth.Authorizers",
                resource.type,
                "REST Api (Cognito, TOKEN/REQUEST Lambda) authorizers are not mapped; use an HttpApi",
            )
            default_authorizer = None
        api_key_required = bool(auth.get("ApiKeyRequired")) if isinstance(auth, dict) else False
        spec["usagePlans"] = _usage_plan(resource, auth, str(stage)) if isinstance(auth, dict) else []
        media = resource.get("BinaryMediaTypes")
        if media:
            spec["binaryMediaTypes"] = [str(m).replace("~1", "/") for m in media]
    if stage != "$default" or variables or "throttle" in stage_spec:
        spec["stages"] = [stage_spec]
    if cors:
        spec["cors"] = cors
    if authorizers:
        spec["authorizers"] = authorizers
    spec["routes"] = _routes(entry, authorizers, default_authorizer, api_key_required)
    if not spec.get("usagePlans"):
        spec.pop("usagePlans", None)
    resource.report_unknown(HTTP_HANDLED if http else REST_HANDLED, REASONS)
    build.manifest("Api", name, spec)


def implicit_api_resources(build: Build, explicit: set[str], globals_: dict[str, dict[str, Any]]) -> list[Resource]:
    """SAM's implicit ServerlessRestApi / ServerlessHttpApi, made when events name no Api (with Globals)."""
    resources = []
    for logical_id, kind in (("ServerlessRestApi", "Api"), ("ServerlessHttpApi", "HttpApi")):
        name = build.names.names[logical_id]
        if name in build.apis and logical_id not in explicit:
            properties = dict(globals_.get(kind, {}))
            resources.append(Resource(logical_id, f"AWS::Serverless::{kind}", properties, build))
    return resources
