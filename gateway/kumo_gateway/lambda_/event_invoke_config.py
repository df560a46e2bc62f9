"""Lambda's event-invoke-config operations (``/2019-09-25/functions/{name}/event-invoke-config``):
``PutFunctionEventInvokeConfig`` (PUT), ``UpdateFunctionEventInvokeConfig`` (POST),
``GetFunctionEventInvokeConfig`` (GET), ``DeleteFunctionEventInvokeConfig`` (DELETE) and
``ListFunctionEventInvokeConfigs`` (GET ``.../event-invoke-config/list``).

Configs set here live in Redis (:mod:`kumo_gateway.async_.store`) and override the manifest's
``spec.async`` for events accepted afterwards; without one, Get answers the manifest's settings when
the manifest has ``spec.async``, else ResourceNotFoundException (as Lambda does for no config)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo import untrusted_json
from kumo.catalog import Catalog
from kumo_gateway.async_ import event_config
from kumo_gateway.async_.store import AsyncStore
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.lambda_.errors import lambda_error, resource_not_found, service_error, unknown_operation
from kumo_gateway.lambda_.signed_call import open_signed_call

#: The API version segment of these operations.
EVENT_CONFIG_VERSION = "2019-09-25"
_MAX_BODY = 64 * 1024
_OPERATIONS = {
    ("PUT", False): "PutFunctionEventInvokeConfig",
    ("POST", False): "UpdateFunctionEventInvokeConfig",
    ("GET", False): "GetFunctionEventInvokeConfig",
    ("DELETE", False): "DeleteFunctionEventInvokeConfig",
    ("GET", True): "ListFunctionEventInvokeConfigs",
}


class EventInvokeConfigHandler:
    def __init__(self, catalog: Catalog, store: AsyncStore | None, *, auth: Auth) -> None:
        self.catalog = catalog
        self.store = store
        self.auth = auth

    async def handle(self, request: Request) -> Response:
        call = await open_signed_call(request, self.auth, _MAX_BODY)
        if isinstance(call, Response):
            return call
        request_id = call.request_id
        # /2019-09-25/functions/{name}/event-invoke-config[/list]
        parts = request.scope["path"].strip("/").split("/")
        listing = len(parts) == 5 and parts[4] == "list"
        if (
            len(parts) not in (4, 5)
            or parts[1] != "functions"
            or parts[3] != "event-invoke-config"
            or (len(parts) == 5 and not listing)
        ):
            return unknown_operation(request_id)
        operation = _OPERATIONS.get((request.method, listing))
        if operation is None:
            return unknown_operation(request_id)
        ref = call.function(self.catalog, operation, parts[2], request.query_params.get("Qualifier") or None)
        if isinstance(ref, Response):
            return ref
        function = self.catalog.function(ref.name)
        arn = self.catalog.function_arn(ref.name, ref.qualifier)
        if function is None or self.catalog.resolve(ref.name, ref.qualifier) is None:
            return resource_not_found(arn, request_id)
        if self.store is None:
            return service_error("Event invoke configs need the platform's Redis; this gateway has none.", request_id)
        field = f"{ref.name}:{ref.qualifier}" if ref.qualifier else ref.name
        manifest = event_config.from_manifest(function.spec.async_)
        region, account = self.catalog.region, self.catalog.account_id

        def shape(config: event_config.EventConfig, modified: float, function_arn: str) -> dict[str, Any]:
            return event_config.api_shape(config, function_arn, modified, region, account)

        if listing:
            items = []
            for name in await self.store.config_fields(ref.name):
                stored = await self.store.get_config(name)
                if stored is not None:
                    qualifier = name.partition(":")[2] or None
                    items.append(
                        shape(
                            event_config.EventConfig.from_json(stored[0]),
                            stored[1],
                            self.catalog.function_arn(ref.name, qualifier),
                        )
                    )
            return call.json({"FunctionEventInvokeConfigs": items})
        stored = await self.store.get_config(field)
        if request.method == "GET":
            if stored is not None:
                return call.json(shape(event_config.EventConfig.from_json(stored[0]), stored[1], arn))
            if "async_" in function.spec.model_fields_set and ref.qualifier is None:
                return call.json(shape(manifest, 0.0, arn))
            return _not_configured(ref.name, request_id)
        if request.method == "DELETE":
            if not await self.store.delete_config(field):
                return _not_configured(ref.name, request_id)
            return call.no_content()
        try:
            body = untrusted_json.loads(call.raw or b"{}")
            if not isinstance(body, dict):
                raise event_config.ConfigError("the request body must be a JSON object")
            if request.method == "POST" and stored is None:
                return _not_configured(ref.name, request_id)
            base = event_config.EventConfig.from_json(stored[0]) if stored is not None else manifest
            config = event_config.apply_api_body(base, body, update=request.method == "POST")
        except (ValueError, event_config.ConfigError) as exc:
            return call.error(400, "InvalidParameterValueException", str(exc))
        modified = await self.store.put_config(field, config.to_json())
        return call.json(shape(config, modified, arn))


def _not_configured(name: str, request_id: str) -> Response:
    return lambda_error(
        404, "ResourceNotFoundException", f"The function {name} doesn't have an EventInvokeConfig", request_id
    )
