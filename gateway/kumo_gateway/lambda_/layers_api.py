"""Lambda's layer calls on local mode's layer store: ``PublishLayerVersion`` (``Content.ZipFile``),
``ListLayers``, ``ListLayerVersions``, ``GetLayerVersion`` under ``/2018-10-31/layers``.

The store is :class:`kumo.packages.layers.LayerStore` (the one `kumo layer publish` uses); each
version's description and creation date sit beside it in ``<state-dir>/layers/NAME/N.json``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kumo.packages.layers import LAYER_NAME_PATTERN, LayerStore
from kumo.packages.plan import MAX_ZIPPED_BYTES, PackageError
from kumo_gateway.auth.authenticator import Auth
from kumo_gateway.ids import new_request_id
from kumo_gateway.lambda_.errors import auth_error, lambda_error, unknown_operation
from kumo_gateway.lambda_.signed_request import read_signed

LAYERS_PREFIX = "/2018-10-31/layers"
#: A base64 zip of up to 50 MB, in JSON.
MAX_BODY = MAX_ZIPPED_BYTES * 4 // 3 + 64 * 1024

_VERSIONS = re.compile(r"^/2018-10-31/layers/([^/]+)/versions/?$")
_VERSION = re.compile(r"^/2018-10-31/layers/([^/]+)/versions/([0-9]{1,9})$")


class LayerApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


class LayersHandler:
    def __init__(self, store: LayerStore, *, auth: Auth, region: str, account_id: str) -> None:
        self.store, self.auth = store, auth
        self.arn_prefix = f"arn:aws:lambda:{region}:{account_id}:layer"

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        signed = await read_signed(request, self.auth, MAX_BODY, request_id)
        if isinstance(signed, Response):
            return signed
        raw, identity = signed
        path, method = request.scope["path"], request.method
        versions, version = _VERSIONS.match(path), _VERSION.match(path)
        if method == "GET" and path.rstrip("/") == LAYERS_PREFIX:
            operation, name = "ListLayers", None
        elif versions and method in ("GET", "POST"):
            operation, name = ("PublishLayerVersion" if method == "POST" else "ListLayerVersions"), versions.group(1)
        elif version and method == "GET":
            operation, name = "GetLayerVersion", version.group(1)
        else:
            return unknown_operation(request_id)
        resource = f"{self.arn_prefix}:{name}" if name else "*"
        denied = self.auth.authorize(identity, f"lambda:{operation}", (f"layer:{name or '*'}",), resource)
        if denied is not None:
            return auth_error(denied, request_id)
        try:
            if name is not None and not re.match(LAYER_NAME_PATTERN, name):
                raise LayerApiError(400, "InvalidParameterValueException", f"Invalid layer name {name!r}")
            if operation == "ListLayers":
                status, data = 200, {"Layers": self._list_layers()}
            elif operation == "PublishLayerVersion":
                status, data = 201, self._publish(str(name), raw)
            elif operation == "ListLayerVersions":
                items = [self._shape(str(name), n) for n in reversed(self.store.versions(str(name)))]
                status, data = 200, {"LayerVersions": items}
            else:
                assert version is not None
                number = int(version.group(2))
                if number not in self.store.versions(str(name)):
                    raise LayerApiError(
                        404, "ResourceNotFoundException", f"Layer version {self.arn_prefix}:{name}:{number} not found"
                    )
                status, data = 200, self._shape(str(name), number)
        except LayerApiError as exc:
            return lambda_error(exc.status, exc.error_type, exc.message, request_id)
        return Response(
            json.dumps(data),
            status_code=status,
            media_type="application/json",
            headers={"x-amzn-RequestId": request_id},
        )

    def _publish(self, name: str, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
            content = body.get("Content") if isinstance(body, dict) else None
            encoded = content.get("ZipFile") if isinstance(content, dict) else None
            if not isinstance(encoded, str):
                raise ValueError("Content.ZipFile is required (S3 content is not supported locally)")
            data = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise LayerApiError(400, "InvalidParameterValueException", str(exc)) from None
        description = body.get("Description", "")
        runtimes = body.get("CompatibleRuntimes") or []
        if not isinstance(description, str) or not isinstance(runtimes, list):
            raise LayerApiError(400, "InvalidParameterValueException", "Description/CompatibleRuntimes malformed")
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / "layer.zip"
            archive.write_bytes(data)
            try:
                number = self.store.publish(name, archive)
            except PackageError as exc:
                raise LayerApiError(400, "InvalidParameterValueException", str(exc)) from None
        meta = {
            "Description": description,
            "CompatibleRuntimes": [str(r) for r in runtimes],
            "CreatedDate": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
            "CodeSha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "CodeSize": len(data),
        }
        (self.store.root / name / f"{number}.json").write_text(json.dumps(meta))
        return self._shape(name, number)

    def _shape(self, name: str, number: int) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):  # published offline (`kumo layer publish`): no sidecar
            meta = json.loads((self.store.root / name / f"{number}.json").read_text())
        return {
            "LayerArn": f"{self.arn_prefix}:{name}",
            "LayerVersionArn": f"{self.arn_prefix}:{name}:{number}",
            "Version": number,
            "Description": meta.get("Description", ""),
            "CreatedDate": meta.get("CreatedDate", "1970-01-01T00:00:00.000+0000"),
            "CompatibleRuntimes": meta.get("CompatibleRuntimes", []),
            "Content": {"CodeSha256": meta.get("CodeSha256", ""), "CodeSize": meta.get("CodeSize", 0)},
        }

    def _list_layers(self) -> list[dict[str, Any]]:
        if not self.store.root.is_dir():
            return []
        result = []
        for folder in sorted(self.store.root.iterdir()):
            numbers = self.store.versions(folder.name)
            if folder.is_dir() and numbers:
                latest = self._shape(folder.name, numbers[-1])
                latest.pop("Content")
                result.append(
                    {"LayerName": folder.name, "LayerArn": latest["LayerArn"], "LatestMatchingVersion": latest}
                )
        return result
