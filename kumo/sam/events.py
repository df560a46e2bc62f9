"""A function's `Events` (pure): Api and HttpApi events become Api routes, SQS a queue event source,
Schedule and ScheduleV2 a schedule source, DynamoDB a table stream source; the types whose Kumo feature
does not exist are reported unmapped with the reason."""

from __future__ import annotations

from typing import Any

from kumo.sam.intrinsics import Unresolved
from kumo.sam.loader import TemplateError
from kumo.sam.names import queue_from_arn
from kumo.sam.schedule_events import EXPRESSION, schedule_source
from kumo.sam.state import Build, ImplicitApi, Resource, Route, as_int
from kumo.sam.stream_events import stream_source

IMPLICIT_REST_API = "ServerlessRestApi"
IMPLICIT_HTTP_API = "ServerlessHttpApi"
#: Event types Kumo cannot map yet, and why.
UNMAPPED_EVENTS = {
    "Kinesis": "Kumo has no Kinesis streams",
    "S3": "Kumo has no S3 buckets",
    "SNS": "Kumo has no SNS topics",
    "CloudWatchEvent": "Kumo has no EventBridge rules",
    "EventBridgeRule": "Kumo has no EventBridge rules",
    "CloudWatchLogs": "Kumo has no CloudWatch Logs subscriptions",
    "IoTRule": "Kumo has no IoT rules",
    "AlexaSkill": "Kumo has no Alexa skills",
    "Cognito": "Kumo has no Cognito user pools",
    "MQ": "Kumo has no Amazon MQ brokers",
    "MSK": "Kumo has no Kafka event sources",
    "SelfManagedKafka": "Kumo has no Kafka event sources",
    "DocumentDB": "Kumo has no DocumentDB event sources",
}


def _api_name(build: Build, explicit: Any, implicit_id: str) -> str:
    """The Kumo Api a route goes to: the referenced Api, or SAM's implicit one (named from its id)."""
    if explicit is not None:
        if not isinstance(explicit, str):
            raise TemplateError(f"an Api reference must be a name, got {explicit!r}")
        return explicit
    return build.names.names[implicit_id]


def _route(build: Build, function: str, api: str, kind: str, props: dict[str, Any], source: str) -> None:
    method = str(props.get("Method", "ANY")).upper()
    path = props.get("Path", "/{proxy+}")
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    extra: dict[str, Any] = {}
    if kind == "HttpApi" and "TimeoutInMillis" in props:
        extra["timeout"] = f"{as_int(props['TimeoutInMillis'], 'TimeoutInMillis')}ms"
    auth = props.get("Auth") or {}
    if isinstance(auth, dict):
        if auth.get("Authorizer") is not None:
            extra["authorizer"] = auth["Authorizer"]
        if auth.get("AuthorizationScopes"):
            extra["authorizationScopes"] = list(auth["AuthorizationScopes"])
        if "ApiKeyRequired" in auth:
            extra["apiKeyRequired"] = bool(auth["ApiKeyRequired"])
    entry = build.apis.setdefault(api, ImplicitApi(kind))
    if kind == "HttpApi" and props.get("PayloadFormatVersion") is not None:
        entry.payload_format = str(props["PayloadFormatVersion"])
    entry.routes.append(Route(method, str(path), function, extra, source))
    if kind == "HttpApi" and "Path" not in props and "Method" not in props:
        # No path and method: the $default route, which also matches `/`.
        entry.routes.append(Route("ANY", "/", function, dict(extra), source))


def _queue_source(props: dict[str, Any]) -> dict[str, Any]:
    queue = props.get("Queue")
    if not isinstance(queue, str):
        raise TemplateError(f"Queue must be a queue ARN, got {queue!r}")
    source: dict[str, Any] = {"queue": queue_from_arn(queue)}
    if "BatchSize" in props:
        source["batchSize"] = as_int(props["BatchSize"], "BatchSize")
    if "MaximumBatchingWindowInSeconds" in props:
        window = as_int(props["MaximumBatchingWindowInSeconds"], "MaximumBatchingWindowInSeconds")
        source["maximumBatchingWindow"] = f"{window}s"
    if "Enabled" in props:
        source["enabled"] = bool(props["Enabled"])
    return source


def map_events(resource: Resource, function: str) -> list[dict[str, Any]]:
    """Add the function's Api/HttpApi routes to `build.apis`; return its queue, schedule and stream sources."""
    build = resource.build
    events = resource.properties.get("Events") or {}
    if not isinstance(events, dict):
        raise TemplateError(f"{resource.logical_id}.Events must be a mapping")
    sources: list[dict[str, Any]] = []
    for event_id, event in events.items():
        where = f"{resource.logical_id}.Events.{event_id}"
        kind = event.get("Type") if isinstance(event, dict) else None
        if kind in UNMAPPED_EVENTS:
            build.unmapped(where, f"{kind} event", UNMAPPED_EVENTS[kind])
            continue
        if kind not in ("Api", "HttpApi", "SQS", "DynamoDB", *EXPRESSION):
            build.unmapped(where, f"{kind} event", f"event type {kind!r} is not supported by Kumo")
            continue
        holder = Resource(where, f"{kind} event", event.get("Properties") or {}, build)
        try:
            props = {key: holder.get(key) for key in holder.properties}
        except Unresolved as exc:
            if kind != "DynamoDB":
                raise
            build.unmapped(where, f"{kind} event", f"{exc} (a table's StreamArn needs its StreamSpecification)")
            continue
        if kind == "SQS":
            sources.append(_queue_source(props))
        elif kind == "DynamoDB":
            stream = stream_source(build, props, where)
            if stream is not None:
                sources.append(stream)
        elif kind in EXPRESSION:
            schedule = schedule_source(build, kind, props, where)
            if schedule is not None:
                sources.append(schedule)
        elif kind == "Api":
            api = _api_name(build, props.get("RestApiId"), IMPLICIT_REST_API)
            _route(build, function, api, "Api", props, where)
        else:
            api = _api_name(build, props.get("ApiId"), IMPLICIT_HTTP_API)
            _route(build, function, api, "HttpApi", props, where)
    return sources
