"""Lambda's layer calls under ``/2018-10-31/layers``: ``PublishLayerVersion`` (``Content.ZipFile``),
``ListLayers``, ``ListLayerVersions``, ``GetLayerVersion``, ``GetLayerVersionByArn``
(``?find=LayerVersion&Arn=…``) and ``DeleteLayerVersion``.

One handler over a :class:`~kumo_gateway.lambda_.layer_versions.LayerVersionStore`: local mode's
(``local/layer_versions.py``, the state dir) or a cluster's (``kubernetes/layer_versions.py``, the code
store and a ConfigMap per version).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo.packages.plan import MAX_ZIPPED_BYTES
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.lambda_.errors import unknown_operation
from kumo_gateway.lambda_.layer_versions import (
    LayerError,
    LayerVersionStore,
    check_name,
    find,
    invalid,
    list_shape,
    parse_version_arn,
    version_shape,
)
from kumo_gateway.lambda_.signed_call import open_signed_call

LAYERS_PREFIX = "/2018-10-31/layers"
#: A base64 zip of up to 50 MB, in JSON.
MAX_BODY = MAX_ZIPPED_BYTES * 4 // 3 + 64 * 1024

_VERSIONS = re.compile(r"^/2018-10-31/layers/([^/]+)/versions/?$")
_VERSION = re.compile(r"^/2018-10-31/layers/([^/]+)/versions/([0-9]{1,9})$")


def _operation(method: str, path: str, query: Any) -> tuple[str, str | None, int | None] | None:
    """``(operation, layer name, version)`` of a request, ``None`` for an unknown one."""
    versions, version = _VERSIONS.match(path), _VERSION.match(path)
    if method == "GET" and path.rstrip("/") == LAYERS_PREFIX:
        if query.get("find") == "LayerVersion":
            return "GetLayerVersionByArn", None, None
        return "ListLayers", None, None
    if versions and method in ("GET", "POST"):
        return ("PublishLayerVersion" if method == "POST" else "ListLayerVersions"), versions.group(1), None
    if version and method in ("GET", "DELETE"):
        operation = "GetLayerVersion" if method == "GET" else "DeleteLayerVersion"
        return operation, version.group(1), int(version.group(2))
    return None


class LayersHandler:
    def __init__(self, store: LayerVersionStore, *, auth: Auth, region: str, account_id: str) -> None:
        self.store, self.auth = store, auth
        self.arn_prefix = f"arn:aws:lambda:{region}:{account_id}:layer"

    async def handle(self, request: Request) -> Response:
        call = await open_signed_call(request, self.auth, MAX_BODY)
        if isinstance(call, Response):
            return call
        found = _operation(request.method, request.scope["path"], request.query_params)
        if found is None:
            return unknown_operation(call.request_id)
        operation, name, number = found
        try:
            if operation == "GetLayerVersionByArn":
                name, number = parse_version_arn(request.query_params.get("Arn"))
        except LayerError as exc:
            return call.error(exc.status, exc.error_type, exc.message)
        resource = f"{self.arn_prefix}:{name}" if name else "*"
        denied = call.authorize(f"lambda:{operation}", (f"layer:{name or '*'}",), resource)
        if denied is not None:
            return denied
        try:
            status, data = await self._answer(operation, name, number, call.raw)
        except LayerError as exc:
            return call.error(exc.status, exc.error_type, exc.message)
        return call.no_content() if data is None else call.json(data, status)

    async def _answer(
        self, operation: str, name: str | None, number: int | None, raw: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        if operation == "ListLayers":
            layers = []
            for layer_name in await self.store.names():
                known = await self.store.versions(layer_name)
                if known:
                    layers.append(list_shape(known[-1], self.arn_prefix))
            return 200, {"Layers": layers}
        assert name is not None
        check_name(name)
        if operation == "PublishLayerVersion":
            data, description, runtimes = _publish_request(raw)
            return 201, version_shape(await self.store.publish(name, data, description, runtimes), self.arn_prefix)
        if operation == "ListLayerVersions":
            items = [version_shape(v, self.arn_prefix) for v in reversed(await self.store.versions(name))]
            return 200, {"LayerVersions": items}
        assert number is not None
        if operation == "DeleteLayerVersion":
            await self.store.delete(name, number)
            return 204, None
        layer = find(await self.store.versions(name), number)
        if layer is None:
            raise LayerError(
                404, "ResourceNotFoundException", f"Layer version {self.arn_prefix}:{name}:{number} not found"
            )
        return 200, version_shape(layer, self.arn_prefix)


def _publish_request(raw: bytes) -> tuple[bytes, str, tuple[str, ...]]:
    """``(zip bytes, Description, CompatibleRuntimes)`` of a PublishLayerVersion body."""
    try:
        body = json.loads(raw or b"{}")
        content = body.get("Content") if isinstance(body, dict) else None
        encoded = content.get("ZipFile") if isinstance(content, dict) else None
        if not isinstance(encoded, str):
            raise ValueError("Content.ZipFile is required (S3 content is not supported by Kumo)")
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise invalid(str(exc)) from None
    if len(data) > MAX_ZIPPED_BYTES:
        raise LayerError(
            413, "RequestEntityTooLargeException", f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes"
        )
    description = body.get("Description", "")
    runtimes = body.get("CompatibleRuntimes") or []
    if not isinstance(description, str) or not isinstance(runtimes, list):
        raise invalid("Description/CompatibleRuntimes malformed")
    return data, description, tuple(str(r) for r in runtimes)
